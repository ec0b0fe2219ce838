"""Engine and session handling for the two supported databases (SQLite by default, PostgreSQL in production).

SQLite runs in WAL mode with a busy timeout so that the web process and the worker can share one file.
Sessions that will write under contention (ticket numbering, job leases) use `write_session()`, which on
SQLite starts the transaction with BEGIN IMMEDIATE so that two writers queue instead of failing to
upgrade a read lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


def json_dumps(value: object) -> str:
    """JSON as compact UTF-8, for JSON columns and the stored webhook bodies: Thai text as itself, not
    six-character \\u escapes. A LINE answer's outbox payload (its Flex card and the plain-text fallback)
    shrinks from about 9.4 to 5.5 kB, which PostgreSQL parses and compresses at each INSERT (0.20 ->
    0.12 ms per row on loopback)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def make_engine(url: str, *, echo: bool = False, pool_size: int = 5) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, json_serializer=json_dumps,
                               connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _setup_sqlite(engine)
        return engine
    return create_engine(
        url,
        echo=echo,
        json_serializer=json_dumps,
        pool_size=pool_size,
        max_overflow=10,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"connect_timeout": 10, "application_name": "ict-helpdesk"},
    )


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Take transaction control from pysqlite so that BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        if conn.get_execution_options().get("sqlite_immediate"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


class WriteGate:
    """A queue for SQLite's single writer, shared by every process and thread that opens the file.

    SQLite lets one writer in at a time and makes the others poll: its busy handler sleeps 1, 2, 5 ...
    up to 100 ms between tries, so a waiter may sleep long after the lock came free, and a waiter that
    polls faster burns the CPU (and, in a threaded process, the GIL) the lock holder needs. Writers that
    take this gate first (an exclusive flock on "<database>-wgate", waited for in the kernel without the
    GIL) queue instead, and one is woken as soon as the previous one is done. The gate is advisory:
    BEGIN IMMEDIATE and the busy timeout still guard against writers that do not take it.

    Urgent writers go first: a writer someone is waiting on (the LINE webhook, whose answer LINE times)
    holds a shared lock on "<database>-wgate-prio" while it queues and writes; any other writer that gets
    the gate while that lock is held gives the gate up and waits for the urgent ones to finish. So a
    background batch that finishes hands the file to the waiting webhooks rather than to the next batch.

    Re-entrant per thread; each thread has its own descriptors, since flock excludes descriptors, not
    processes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()

    def _fds(self) -> tuple[int, int]:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # a forked child must not share the parent's
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
            local.fd = os.open(self.path, flags, 0o600)
            local.prio = os.open(self.path + "-prio", flags, 0o600)
            local.pid = os.getpid()
            local.depth = 0
        return int(local.fd), int(local.prio)

    @contextmanager
    def held(self, *, urgent: bool = False) -> Iterator[None]:
        fd, prio = self._fds()
        local = self._local
        first = local.depth == 0
        if first:
            if urgent:
                fcntl.flock(prio, fcntl.LOCK_SH)  # kept while queued and writing: others wait behind
                fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                while True:
                    fcntl.flock(prio, fcntl.LOCK_EX)  # wait while an urgent writer queues or writes
                    fcntl.flock(prio, fcntl.LOCK_UN)
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    try:  # one may have queued meanwhile: then it goes first
                        fcntl.flock(prio, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        fcntl.flock(fd, fcntl.LOCK_UN)
                        continue
                    fcntl.flock(prio, fcntl.LOCK_UN)
                    break
        local.depth += 1
        try:
            yield
        finally:
            local.depth -= 1
            if local.depth == 0:
                fcntl.flock(fd, fcntl.LOCK_UN)
                if urgent:
                    fcntl.flock(prio, fcntl.LOCK_UN)

    def urgent_waiting(self) -> bool:
        """Whether an urgent writer is queued or writing now (for a holder that can stop early)."""
        _, prio = self._fds()
        try:
            fcntl.flock(prio, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(prio, fcntl.LOCK_UN)
        return False


_gates: dict[str, WriteGate] = {}  # by the database as the engine's URL names it
_gates_by_file: dict[str, WriteGate] = {}  # by the gate file's resolved path
_gates_lock = threading.Lock()


def _gate(engine: Engine) -> WriteGate | None:
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    gate = _gates.get(database)  # every write transaction asks: no path resolution on this path
    if gate is None:
        # One gate per file, whatever the spelling of its path: two descriptors of one thread would
        # exclude each other, so a nested write through an alias would wait for itself.
        path = str(Path(database).resolve()) + "-wgate"
        with _gates_lock:
            gate = _gates_by_file.setdefault(path, WriteGate(path))
            _gates[database] = gate
    return gate


def write_gate(engine: Engine, *, urgent: bool = False) -> AbstractContextManager[None]:
    """The SQLite file's writer queue (a no-op for PostgreSQL and in-memory databases). `urgent`: a
    writer someone waits on, let in before the background writers (see WriteGate)."""
    gate = _gate(engine)
    return nullcontext() if gate is None else gate.held(urgent=urgent)


def urgent_writer_waiting(engine: Engine) -> bool:
    """Whether an urgent writer waits at (or holds) the SQLite file's write gate: a background writer
    holding the lock can commit what it has and let it in. Always False where there is no gate
    (PostgreSQL writers do not exclude each other)."""
    gate = _gate(engine)
    return gate is not None and gate.urgent_waiting()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def _unit_of_work(session: Session) -> Iterator[Session]:
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def session_scope(factory: sessionmaker[Session]) -> AbstractContextManager[Session]:
    """One unit of work: commit on success, roll back on error."""
    return _unit_of_work(factory())


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A unit of work that takes the write lock up front on SQLite, queued at the file's write gate
    (no-op difference on PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        with _unit_of_work(Session(bind=engine, expire_on_commit=False)) as session:
            yield session
        return
    with write_gate(engine), _unit_of_work(
            Session(bind=engine.execution_options(sqlite_immediate=True), expire_on_commit=False)) as session:
        yield session


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A short Core write transaction (no ORM session), queued and locked as write_session is."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with write_gate(engine), engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        yield conn


def ping(engine: Engine) -> None:
    """Raise if the database does not answer."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
