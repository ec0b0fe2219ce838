"""Store first, then work: the raw inbound event store and its claim/complete cycle.

An event (LINE webhook event, e-mail, web chat message) is written here, unique per (office, source,
source_id), before anything else is done with it. Processing claims a batch with a short lease, so a
crashed process's events are picked up again when the lease runs out; handlers must be idempotent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, LargeBinary, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot import leasing
from helpdesk.db import urgent_writer_waiting, write_session
from tickets.models import EventStatus, InboundEvent, utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8


class PermanentEventError(Exception):
    """The event can never be processed (malformed); it is marked failed without retries."""


@dataclass(frozen=True)
class StoredEvent:
    id: int
    created: bool  # False when the event was already stored (a redelivery or duplicate)


_STORE: dict[str, Any] = {}


def _store_statement(dialect: str) -> Any:
    """The event store's INSERT ... ON CONFLICT DO NOTHING RETURNING id, built once per dialect: every
    webhook runs it while holding the write lock (on SQLite), where building it anew would be wasted."""
    stmt = _STORE.get(dialect)
    if stmt is None:
        insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = (
            insert_fn(InboundEvent)
            .values(
                office_id=bindparam("office_id"),
                source=bindparam("source"),
                source_id=bindparam("source_id"),
                payload=bindparam("payload_in", type_=LargeBinary),
                meta=bindparam("meta", type_=InboundEvent.__table__.c.meta.type),
                status=EventStatus.PENDING.value,
                attempts=0,
                next_attempt_at=bindparam("next_attempt_at", type_=InboundEvent.__table__.c.next_attempt_at.type),
                received_at=bindparam("received_at", type_=InboundEvent.__table__.c.received_at.type),
                locked_until=bindparam("locked_until", type_=InboundEvent.__table__.c.locked_until.type),
            )
            .on_conflict_do_nothing(index_elements=["office_id", "source", "source_id"])
            .returning(InboundEvent.id)
        )
        _STORE[dialect] = stmt
    return stmt


def store_event(
    session: Session | Connection,
    *,
    office_id: int,
    source: str,
    source_id: str,
    payload: bytes,
    meta: dict[str, Any] | None = None,
    locked_until: datetime | None = None,
) -> StoredEvent:
    """Insert the event unless it exists; never raises on a duplicate.

    `locked_until`: the storing process keeps the event to itself until then (it processes it at once);
    other processes take it only if that lease runs out. `session` may be a Core connection in a
    transaction (the LINE webhook's, which skips the ORM session while it holds SQLite's write lock)."""
    conn = session if isinstance(session, Connection) else session.connection()
    now = utcnow()
    # The payload goes in as an execute parameter, not a literal of the statement, so a 25 MB e-mail
    # does not stay referenced from the compiled-statement cache.
    result = conn.execute(_store_statement(conn.dialect.name), {
        "office_id": office_id, "source": source, "source_id": source_id[:255], "payload_in": payload,
        "meta": meta or {}, "next_attempt_at": now, "received_at": now, "locked_until": locked_until})
    new_id = result.scalar_one_or_none()
    if new_id is not None:
        return StoredEvent(new_id, True)
    existing = conn.scalar(
        select(InboundEvent.id).where(
            InboundEvent.office_id == office_id, InboundEvent.source == source, InboundEvent.source_id == source_id[:255]
        )
    )
    assert existing is not None
    return StoredEvent(existing, False)


def claim_batch(engine: Engine, *, limit: int = 20, sources: tuple[str, ...] | None = None,
                ids: list[int] | None = None) -> list[int]:
    """Lease up to `limit` due events to this process and return their ids."""
    conditions = [InboundEvent.source.in_(sources)] if sources else []
    return leasing.claim_due(engine, InboundEvent, *conditions, lease=LEASE, limit=limit, ids=ids)


Handler = Callable[[Session, InboundEvent], None]


# Built once: every group transaction starts with it.
_MARK_DONE = (update(InboundEvent)
              .where(InboundEvent.id.in_(bindparam("event_ids", expanding=True)),
                     InboundEvent.status == EventStatus.PENDING.value)
              .values(status=EventStatus.DONE.value, processed_at=bindparam("now"), locked_until=None,
                      last_error=None, attempts=InboundEvent.attempts + 1)
              .returning(InboundEvent)
              .execution_options(synchronize_session=False))


def _mark_done(session: Session, event_ids: list[int]) -> dict[int, InboundEvent]:
    """Mark these events done, each only if still pending, and return the rows this call marked."""
    return {row.id: row for row in session.scalars(_MARK_DONE, {"event_ids": list(event_ids), "now": utcnow()})}


# Undoes _mark_done for an event a group left for its next transaction (see process_events).
_UNMARK = (update(InboundEvent)
           .where(InboundEvent.id == bindparam("event_id"), InboundEvent.status == EventStatus.DONE.value)
           .values(status=EventStatus.PENDING.value, processed_at=None, attempts=InboundEvent.attempts - 1,
                   locked_until=bindparam("until"))
           .execution_options(synchronize_session=False))


def process_event(engine: Engine, event_id: int, handler: Handler) -> str:
    """Run `handler` for one claimed event in its own transaction; record the outcome. Returns the status.

    The transaction starts by marking the event done, only if it is still pending: that one UPDATE both
    tells whether another process finished it meanwhile and, on PostgreSQL, row-locks it, so a second
    process holding the same event (its lease ran out) waits here and then finds nothing to do. If the
    handler fails, the rollback undoes the mark with everything else."""
    try:
        with write_session(engine) as session:
            event = _mark_done(session, [event_id]).get(event_id)
            if event is None:
                status = session.scalar(select(InboundEvent.status).where(InboundEvent.id == event_id))
                return status or "missing"
            handler(session, event)
            return EventStatus.DONE.value
    except PermanentEventError as exc:
        log.warning("inbound event %s rejected: %s", event_id, exc)
        return _record_failure(engine, event_id, str(exc), permanent=True)
    except Exception as exc:  # a bug or a transient fault: retry with backoff, never lose the event
        log.exception("inbound event %s failed", event_id)
        return _record_failure(engine, event_id, f"{type(exc).__name__}: {exc}", permanent=False)


def process_events(engine: Engine, event_ids: list[int], handler: Handler, *,
                   yield_after: float | None = None, lease: timedelta = LEASE) -> dict[int, str] | None:
    """Group commit: run `handler` for several claimed events, in order, in one transaction.

    One UPDATE marks them all done (each only if still pending; the rows another process finished
    meanwhile are skipped), then each handler runs, then one commit. Under load this spares a
    transaction, its commit and (on SQLite) a turn at the write gate for every event but the first.
    If any handler raises, everything is rolled back and None is returned: the caller then runs each
    event on its own (process_event), which records the failure against the one event at fault.

    `yield_after` (seconds, SQLite): once the transaction has held the write lock that long and an
    urgent writer (a webhook) waits for it, the events not yet handled go back to pending, held for
    `lease` more, and the transaction commits the rest at once. They are missing from the statuses
    returned, for the caller to run again. So a webhook waits for one event's work, not a batch's."""
    statuses: dict[int, str] = {}
    try:
        with write_session(engine) as session:
            started = time.monotonic()
            rows = _mark_done(session, event_ids)
            others = [i for i in event_ids if i not in rows]
            if others:
                statuses.update(session.execute(
                    select(InboundEvent.id, InboundEvent.status).where(InboundEvent.id.in_(others))).all())
            handled = 0
            for k, event_id in enumerate(event_ids):
                row = rows.get(event_id)
                if row is None:
                    statuses.setdefault(event_id, "missing")
                    continue
                if (handled and yield_after is not None and time.monotonic() - started >= yield_after
                        and urgent_writer_waiting(engine)):
                    until = utcnow() + lease
                    session.connection().execute(
                        _UNMARK, [{"event_id": i, "until": until} for i in event_ids[k:] if i in rows])
                    break
                handler(session, row)
                handled += 1
                statuses[event_id] = EventStatus.DONE.value
    except Exception as exc:
        log.info("inbound events %s: one failed (%s: %s); processing them one by one", event_ids,
                 type(exc).__name__, exc)
        return None
    return statuses


def process_group(engine: Engine, event_ids: list[int], handler: Handler) -> dict[int, str]:
    """process_events, falling back to process_event for each event when the group fails."""
    statuses = process_events(engine, event_ids, handler) if len(event_ids) > 1 else None
    return statuses or {i: process_event(engine, i, handler) for i in event_ids}


def _record_failure(engine: Engine, event_id: int, error: str, *, permanent: bool) -> str:
    with write_session(engine) as session:
        event = session.get(InboundEvent, event_id)
        if event is None:
            return "missing"
        event.attempts += 1
        event.last_error = error[:2000]
        event.locked_until = None
        if permanent or event.attempts >= MAX_ATTEMPTS:
            event.status = EventStatus.FAILED.value
        else:
            event.next_attempt_at = utcnow() + backoff(event.attempts)
        return event.status


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 2 ** min(attempts, 10)))

