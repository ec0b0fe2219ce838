"""Guided conversation state in the database (table line_conversation): one active flow per requester."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from bot.line.models import LineConversation
from tickets import prefetch
from tickets.models import utcnow

_BY_REQUESTER = select(LineConversation).where(LineConversation.requester_id == bindparam("requester_id"))


def current(session: Session, requester_id: int) -> LineConversation | None:
    """The requester's active flow; an expired one is removed and None returned."""
    row = prefetch.take(session, prefetch.CONVERSATION, requester_id)
    if row is prefetch.MISSING:
        row = session.scalar(_BY_REQUESTER, {"requester_id": requester_id})
    if row is None:
        return None
    if row.expires_at <= utcnow():
        session.delete(row)
        session.flush()
        return None
    return row


_FLOWS = select(LineConversation).where(  # built once: asked by every LINE group
    LineConversation.requester_id.in_(bindparam("requester_ids", expanding=True)))


def prefetch_for(session: Session, requester_ids: list[int]) -> None:
    """The flows of these requesters in one query, for current() to answer from (see tickets.prefetch)."""
    rows = {r.requester_id: r for r in session.scalars(_FLOWS, {"requester_ids": list(requester_ids)})}
    for requester_id in requester_ids:
        prefetch.put(session, prefetch.CONVERSATION, requester_id, rows.get(requester_id))


def start(session: Session, *, office_id: int, requester_id: int, flow: str, step: str, idle_minutes: int,
          data: dict[str, Any] | None = None) -> LineConversation:
    """Begin (or restart) a flow, replacing any other flow of the requester."""
    prefetch.forget(session, prefetch.CONVERSATION, requester_id)
    now = utcnow()
    row = session.scalar(_BY_REQUESTER, {"requester_id": requester_id})
    if row is None:
        row = LineConversation(office_id=office_id, requester_id=requester_id, flow=flow, step=step,
                               data=dict(data or {}), started_at=now, updated_at=now,
                               expires_at=now + timedelta(minutes=idle_minutes))
        session.add(row)
    else:
        row.flow, row.step, row.data = flow, step, dict(data or {})
        row.started_at = row.updated_at = now
        row.expires_at = now + timedelta(minutes=idle_minutes)
    session.flush()
    return row


def advance(row: LineConversation, step: str, idle_minutes: int, **data: Any) -> None:
    now = utcnow()
    row.step = step
    row.data = {**(row.data or {}), **data}  # a new dict so the JSON column is marked changed
    row.updated_at = now
    row.expires_at = now + timedelta(minutes=idle_minutes)


def finish(session: Session, row: LineConversation | None) -> None:
    if row is not None:
        prefetch.forget(session, prefetch.CONVERSATION, row.requester_id)
        session.delete(row)
        session.flush()


def clear(session: Session, requester_id: int) -> None:
    prefetch.forget(session, prefetch.CONVERSATION, requester_id)
    session.execute(delete(LineConversation).where(LineConversation.requester_id == requester_id))


def expire_old(session: Session) -> int:
    result = session.execute(delete(LineConversation).where(LineConversation.expires_at <= utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
