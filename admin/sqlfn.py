"""Small SQL functions that differ between SQLite and PostgreSQL, so that statistics stay in SQL on both.

Times are stored in UTC (SQLite: ISO text, PostgreSQL: timestamptz). Bangkok has no daylight saving
time, so local (Asia/Bangkok) calendar parts are UTC + 7 hours on SQLite and `AT TIME ZONE` on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

TZ = "Asia/Bangkok"
SQLITE_OFFSET = "'+7 hours'"


class seconds_between(FunctionElement[float]):
    """(end - start) in seconds, as a float."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_pg(element: seconds_between, compiler: Any, **kw: Any) -> str:
    end, start = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    end, start = list(element.clauses)
    return f"((julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)})) * 86400.0)"


class local_day(FunctionElement[str]):
    """'YYYY-MM-DD' (Christian era) of the instant in Bangkok."""

    type = String()
    inherit_cache = True
    name = "local_day"


@compiles(local_day)
def _day_pg(element: local_day, compiler: Any, **kw: Any) -> str:
    (col,) = list(element.clauses)
    return f"to_char(({compiler.process(col, **kw)}) AT TIME ZONE '{TZ}', 'YYYY-MM-DD')"


@compiles(local_day, "sqlite")
def _day_sqlite(element: local_day, compiler: Any, **kw: Any) -> str:
    (col,) = list(element.clauses)
    return f"strftime('%Y-%m-%d', {compiler.process(col, **kw)}, {SQLITE_OFFSET})"


class bytes_contains(FunctionElement[bool]):
    """Whether a binary column contains the given bytes (used to find raw events of one requester)."""

    inherit_cache = True
    name = "bytes_contains"


@compiles(bytes_contains)
def _bytes_pg(element: bytes_contains, compiler: Any, **kw: Any) -> str:
    col, needle = list(element.clauses)
    return f"(position({compiler.process(needle, **kw)} in {compiler.process(col, **kw)}) > 0)"


@compiles(bytes_contains, "sqlite")
def _bytes_sqlite(element: bytes_contains, compiler: Any, **kw: Any) -> str:
    col, needle = list(element.clauses)
    return f"(instr({compiler.process(col, **kw)}, {compiler.process(needle, **kw)}) > 0)"

