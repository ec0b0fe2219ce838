"""Claiming due rows of a work queue (inbound events, outbox) for one process, with a lease.

A row is due when it is pending, its next attempt time has come and nobody holds a live lease on it.
On PostgreSQL, rows another process is claiming at the same moment are skipped (SKIP LOCKED); on SQLite
the write lock taken up front serialises claimers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, or_, select, update

from helpdesk.db import write_session
from tickets.models import utcnow


def claim_due(
    engine: Engine,
    model: Any,
    *conditions: ColumnElement[bool],
    lease: timedelta,
    limit: int,
    ids: list[int] | None = None,
) -> list[int]:
    """Lease up to `limit` due rows of `model` (oldest first) that also meet `conditions`; return their ids."""
    now = utcnow()
    stmt = select(model.id).where(
        model.status == "pending",
        model.next_attempt_at <= now,
        or_(model.locked_until.is_(None), model.locked_until < now),
        *conditions,
    )
    if ids is not None:
        stmt = stmt.where(model.id.in_(ids))
    if ids is None:
        # A poll that finds nothing due (the usual case for an idle worker) must not queue for the write
        # lock: look first without it (a plain read never waits on SQLite in WAL mode), then claim.
        # (A caller naming ids has just stored those rows: they are due, and the look would be wasted.)
        with engine.connect() as conn:
            if conn.execute(stmt.limit(1)).first() is None:
                return []
    with write_session(engine) as session:
        stmt = stmt.order_by(model.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        claimed = list(session.scalars(stmt))
        if claimed:
            session.execute(update(model).where(model.id.in_(claimed)).values(locked_until=now + lease))
        return claimed
