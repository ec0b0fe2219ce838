"""The consultation register (ทะเบียนคุมการให้คำปรึกษา): open, thread, assign, change status.

Every change writes an AuditLog row in the same transaction as the change itself.
Ticket numbers are ICT-<Buddhist year>-<6 digits>, unique per office and year; they are allocated
by incrementing one counter row per (office, year) inside the ticket's own transaction, so concurrent
processes queue on the row lock instead of colliding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, event, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tickets import prefetch, sla
from tickets.models import (
    AuditLog,
    Channel,
    Direction,
    Message,
    StaffUser,
    Ticket,
    TicketCounter,
    TicketStatus,
    utcnow,
)

sla.install_hook()

BANGKOK = ZoneInfo("Asia/Bangkok")
NUMBER_PREFIX = "ICT"
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_NUMBER_RE = re.compile(r"\bICT\s*[-–—]?\s*(\d{4})\s*[-–—/]?\s*(\d{1,6})\b", re.IGNORECASE)

# Allowed status changes. "Reopen" is resolved/closed -> open.
TRANSITIONS: dict[str, frozenset[str]] = {
    TicketStatus.NEW: frozenset({TicketStatus.OPEN, TicketStatus.WAITING, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.OPEN: frozenset({TicketStatus.WAITING, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.WAITING: frozenset({TicketStatus.OPEN, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED, TicketStatus.OPEN}),
    TicketStatus.CLOSED: frozenset({TicketStatus.OPEN}),
}
OPEN_STATUSES = (TicketStatus.NEW.value, TicketStatus.OPEN.value, TicketStatus.WAITING.value)


class TicketError(Exception):
    """A registry operation that cannot be done (the message is for staff, in English)."""


class InvalidTransition(TicketError):
    pass


def buddhist_year(when: datetime) -> int:
    return when.astimezone(BANGKOK).year + 543


def format_number(year_be: int, seq: int) -> str:
    return f"{NUMBER_PREFIX}-{year_be}-{seq:06d}"


def find_ticket_numbers(text: str) -> list[str]:
    """Ticket numbers mentioned in free text, canonical form, in order, without duplicates.

    Tolerates Thai digits, lower case, missing or odd dashes and spaces: "ict 2569 123" -> ICT-2569-000123.
    """
    out: list[str] = []
    for m in _NUMBER_RE.finditer(text.translate(_THAI_DIGITS)):
        year, seq = int(m.group(1)), int(m.group(2))
        if 2500 <= year <= 2700 and seq > 0:
            number = format_number(year, seq)
            if number not in out:
                out.append(number)
    return out


def _counter_statement(insert_fn: Any) -> Any:
    table = TicketCounter.__table__
    stmt = insert_fn(table).values(office_id=bindparam("office_id"), year_be=bindparam("year_be"), last_seq=1)
    return stmt.on_conflict_do_update(index_elements=["office_id", "year_be"],
                                      set_={"last_seq": table.c.last_seq + 1}).returning(table.c.last_seq)


# Core statements built once: every new ticket takes a number, inside the transaction that holds the
# counter's lock, so the ORM's per-statement work there is everyone's wait on PostgreSQL.
_TAKE_NUMBER = {"postgresql": _counter_statement(pg_insert), "sqlite": _counter_statement(sqlite_insert)}


def allocate_number(session: Session, office_id: int, when: datetime) -> tuple[int, int, str]:
    """Take the next sequence number for the office and the Buddhist year of `when`.

    The counter row stays locked until the caller's transaction ends, so numbers never collide and,
    because a rollback also rolls back the increment, never skip.
    """
    year_be = buddhist_year(when)
    conn = session.connection()
    seq = conn.execute(_TAKE_NUMBER[conn.dialect.name], {"office_id": office_id, "year_be": year_be}).scalar_one()
    return year_be, seq, format_number(year_be, seq)


def audit(
    session: Session,
    *,
    office_id: int,
    actor: str,
    action: str,
    ticket_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add a line to the audit trail, written when the transaction commits.

    Audit lines are only ever inserted, never read back by the code that writes them, so they skip
    the ORM's unit of work and wait for the commit: the lines of a whole transaction (a group of
    inbound events writes several per event) go to the database as one executemany. A query of the
    session that reads the audit trail writes them first, so it sees them. A rollback drops them with
    everything else."""
    session.info.setdefault(_AUDIT_KEY, []).append(
        {"office_id": office_id, "ticket_id": ticket_id, "actor": actor, "action": action,
         "details": details or {}, "created_at": utcnow()})


_AUDIT_KEY = "pending_audit_lines"


_AUDIT_INSERT = insert(AuditLog)  # built once: written by nearly every transaction


def _write_audit_lines(session: Session) -> None:
    rows = session.info.pop(_AUDIT_KEY, None)
    if rows:
        session.execute(_AUDIT_INSERT, rows)


def _before_statement(state: Any) -> None:
    # The statement's primary entity, from attributes set when it was built: asking for its FROM list
    # would compile it again, for every statement of the transaction.
    if state.session.info.get(_AUDIT_KEY) and state.is_select and state.bind_mapper is _AUDIT_MAPPER:
        _write_audit_lines(state.session)


_AUDIT_MAPPER = AuditLog.__mapper__


def _drop_audit_lines(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction ended: written (commit) or rolled back
        session.info.pop(_AUDIT_KEY, None)


event.listen(Session, "do_orm_execute", _before_statement)
event.listen(Session, "before_commit", _write_audit_lines)
event.listen(Session, "after_transaction_end", _drop_audit_lines)


@dataclass(frozen=True)
class Classification:
    category: str | None = None
    intent: str | None = None
    urgency: str = "normal"
    confidence: float | None = None


def open_ticket(
    session: Session,
    *,
    office_id: int,
    channel: Channel | str,
    actor: str,
    requester_id: int | None = None,
    subject: str | None = None,
    classification: Classification | None = None,
    received_at: datetime | None = None,
    formal: bool = False,
    status: TicketStatus | str = TicketStatus.NEW,
    handoff: bool = False,
    article_id: int | None = None,
    self_served: bool = False,
    note: str | None = None,
) -> Ticket:
    """Register a new consultation. `received_at` is when the request arrived (staff may enter it later).

    A ticket that starts in another status than new (e.g. resolved: the bot answered it) is inserted in
    that status, and the audit trail records the creation and then the status change with `note`."""
    now = utcnow()
    status = str(status)
    if status not in {s.value for s in TicketStatus}:
        raise InvalidTransition(f"unknown status {status!r}")
    received = received_at or now
    c = classification or Classification()
    prefetch.forget(session, prefetch.HAS_OPEN_TICKET, requester_id)
    year_be, seq, number = allocate_number(session, office_id, received)
    ticket = Ticket(
        office_id=office_id,
        number=number,
        year_be=year_be,
        seq=seq,
        requester_id=requester_id,
        channel=str(channel),
        subject=(subject or None) and subject[:300],
        category=c.category,
        intent=c.intent,
        urgency=c.urgency or "normal",
        confidence=c.confidence,
        status=status,
        formal=formal,
        handoff=handoff,
        article_id=article_id,
        self_served=self_served,
        resolved_at=now if status in (TicketStatus.RESOLVED, TicketStatus.CLOSED) else None,
        closed_at=now if status == TicketStatus.CLOSED else None,
        received_at=received,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    audit(
        session,
        office_id=office_id,
        ticket_id=ticket.id,
        actor=actor,
        action="created",
        details={"number": number, "channel": str(channel), "category": c.category, "intent": c.intent,
                 "urgency": ticket.urgency, "status": TicketStatus.NEW.value},
    )
    if status != TicketStatus.NEW:
        details: dict[str, Any] = {"from": TicketStatus.NEW.value, "to": status}
        if note:
            details["note"] = note
        audit(session, office_id=office_id, ticket_id=ticket.id, actor=actor, action="status", details=details)
    return ticket


def new_message(
    session: Session,
    ticket: Ticket | None,
    *,
    office_id: int,
    direction: Direction | str,
    channel: Channel | str,
    author: str,
    text: str,
    requester_id: int | None = None,
    staff_id: int | None = None,
    internal: bool = False,
    channel_message_id: str | None = None,
    inbound_event_id: int | None = None,
    meta: dict[str, Any] | None = None,
    delivery_state: str | None = None,
) -> Message:
    """A message threaded into `ticket` (or unattached when None), added to the session but not flushed:
    callers that record several messages flush them together, then call `audit_message` for each."""
    now = utcnow()
    message = Message(
        office_id=office_id,
        ticket_id=ticket.id if ticket is not None else None,
        requester_id=requester_id if requester_id is not None else (ticket.requester_id if ticket else None),
        direction=str(direction),
        channel=str(channel),
        author=author,
        staff_id=staff_id,
        internal=internal,
        text=text,
        channel_message_id=channel_message_id,
        inbound_event_id=inbound_event_id,
        meta=meta or {},
        delivery_state=delivery_state,
        created_at=now,
    )
    session.add(message)
    if ticket is not None:
        if not _recently_updated(ticket, now):
            ticket.updated_at = now
        if str(direction) == Direction.OUTBOUND and author == "staff" and not internal and ticket.first_response_at is None:
            ticket.first_response_at = now
    return message


def _recently_updated(ticket: Ticket, now: datetime) -> bool:
    """Touched within the last second (e.g. created by this transaction): no UPDATE just for updated_at."""
    last = ticket.updated_at  # aware: UTCDateTime
    if last is None:
        return False
    return abs((now - last).total_seconds()) < 1.0


def audit_message(session: Session, ticket: Ticket | None, message: Message, *, actor: str) -> None:
    """The register's line for a flushed message (nothing for an unattached one)."""
    if ticket is None:
        return
    action = "note" if message.internal else ("message_in" if message.direction == Direction.INBOUND else "message_out")
    audit(session, office_id=message.office_id, ticket_id=ticket.id, actor=actor, action=action,
          details={"message_id": message.id, "author": message.author, "channel": message.channel})


def add_message(
    session: Session,
    ticket: Ticket | None,
    *,
    actor: str,
    **fields: Any,
) -> Message:
    """Thread a message into a ticket (or store it unattached when `ticket` is None), with its audit line."""
    message = new_message(session, ticket, **fields)
    session.flush()
    audit_message(session, ticket, message, actor=actor)
    return message


def change_status(
    session: Session, ticket: Ticket, new_status: TicketStatus | str, *, actor: str, note: str | None = None
) -> None:
    prefetch.forget(session, prefetch.HAS_OPEN_TICKET, ticket.requester_id)
    old = ticket.status
    new = str(new_status)
    if new == old:
        return
    if new not in {s.value for s in TicketStatus}:
        raise InvalidTransition(f"unknown status {new!r}")
    if new not in TRANSITIONS[TicketStatus(old)]:
        raise InvalidTransition(f"{ticket.number}: cannot go from {old} to {new}")
    now = utcnow()
    ticket.status = new
    ticket.updated_at = now
    if new == TicketStatus.RESOLVED:
        ticket.resolved_at = now
    elif new == TicketStatus.CLOSED:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    elif new == TicketStatus.OPEN and old in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        ticket.resolved_at = None
        ticket.closed_at = None
        ticket.self_served = False
    action = "reopened" if new == TicketStatus.OPEN and old in (TicketStatus.RESOLVED, TicketStatus.CLOSED) else "status"
    details: dict[str, Any] = {"from": old, "to": new}
    if note:
        details["note"] = note
    audit(session, office_id=ticket.office_id, ticket_id=ticket.id, actor=actor, action=action, details=details)


def reopen(session: Session, ticket: Ticket, *, actor: str, reason: str | None = None) -> None:
    if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        raise InvalidTransition(f"{ticket.number}: only a resolved or closed ticket can be reopened")
    change_status(session, ticket, TicketStatus.OPEN, actor=actor, note=reason)


def assign(session: Session, ticket: Ticket, staff: StaffUser | None, *, actor: str) -> None:
    if staff is not None and staff.office_id != ticket.office_id:
        raise TicketError("cannot assign a ticket to staff of another office")
    new_id = staff.id if staff is not None else None
    if new_id == ticket.assignee_id:
        return
    old_id = ticket.assignee_id
    ticket.assignee_id = new_id
    ticket.updated_at = utcnow()
    if staff is not None and ticket.status == TicketStatus.NEW:
        change_status(session, ticket, TicketStatus.OPEN, actor=actor)
    audit(
        session,
        office_id=ticket.office_id,
        ticket_id=ticket.id,
        actor=actor,
        action="assigned",
        details={"from": old_id, "to": new_id},
    )


def reclassify(
    session: Session,
    ticket: Ticket,
    *,
    actor: str,
    category: str | None = None,
    intent: str | None = None,
    urgency: str | None = None,
) -> None:
    changes: dict[str, Any] = {}
    for field, value in (("category", category), ("intent", intent), ("urgency", urgency)):
        if value is not None and getattr(ticket, field) != value:
            changes[field] = {"from": getattr(ticket, field), "to": value}
            setattr(ticket, field, value)
    if changes:
        ticket.updated_at = utcnow()
        audit(session, office_id=ticket.office_id, ticket_id=ticket.id, actor=actor, action="reclassified",
              details=changes)


def get_by_number(session: Session, office_id: int, number: str) -> Ticket | None:
    found = find_ticket_numbers(number)
    if not found:
        return None
    return session.scalar(select(Ticket).where(Ticket.office_id == office_id, Ticket.number == found[0]))


_LATEST_OPEN = (
    select(Ticket)
    .where(Ticket.requester_id == bindparam("requester_id"), Ticket.status.in_(OPEN_STATUSES))
    .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
    .limit(1)
)
_LATEST_OPEN_SINCE = _LATEST_OPEN.where(Ticket.updated_at >= bindparam("since"))


def latest_open_ticket(session: Session, requester_id: int, since: datetime | None = None) -> Ticket | None:
    if prefetch.take(session, prefetch.HAS_OPEN_TICKET, requester_id) is False:
        return None
    # Built once: asked for every inbound message.
    if since is None:
        return session.scalar(_LATEST_OPEN, {"requester_id": requester_id})
    return session.scalar(_LATEST_OPEN_SINCE, {"requester_id": requester_id, "since": since})


_WITH_OPEN = select(Ticket.requester_id).distinct().where(  # built once: asked by every LINE group
    Ticket.requester_id.in_(bindparam("requester_ids", expanding=True)), Ticket.status.in_(OPEN_STATUSES))


def prefetch_open_tickets(session: Session, requester_ids: list[int]) -> None:
    """Which of these requesters have an open ticket, in one query: latest_open_ticket answers None
    without asking for those who have none (see tickets.prefetch)."""
    having = set(session.scalars(_WITH_OPEN, {"requester_ids": list(requester_ids)}))
    for requester_id in requester_ids:
        prefetch.put(session, prefetch.HAS_OPEN_TICKET, requester_id, requester_id in having)


def latest_ticket(session: Session, requester_id: int, since: datetime) -> Ticket | None:
    stmt = (
        select(Ticket)
        .where(Ticket.requester_id == requester_id, Ticket.updated_at >= since, Ticket.merged_into_id.is_(None))
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)
