"""Lookups answered ahead for a group of inbound events handled in one transaction.

A handler asks the same few questions about its requester for every message: who is it, is a guided
conversation under way, is a ticket open. When a group commit handles several events, one query per
question for the whole group answers them at its start, and each handler takes its answer from the
session instead of asking the database.

An answer is given once (the first lookup takes it; a later one asks the database again), only for a
requester with one event in the group (another event of the same requester could change the answer
first), and a write that could change it drops it (`forget`). So a handler sees what it would have
read itself, a moment earlier in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "prefetched_lookups"
_STARTED = ("started", None)  # under _KEY once the transaction's first event has asked first_ask()
MISSING = object()  # what take() gives when nothing was stored: ask the database

# Kinds of answers (what a lookup module stores and takes).
REQUESTER = "requester"  # keyed by (office_id, field, value): the Requester or None (no such requester)
CONVERSATION = "conversation"  # keyed by requester id: the LineConversation row or None
HAS_OPEN_TICKET = "has_open_ticket"  # keyed by requester id: bool


def first_ask(session: Session) -> bool:
    """True once per transaction, the first time it is asked: when a group's first event can prefetch."""
    answers = session.info.setdefault(_KEY, {})
    if _STARTED in answers:
        return False
    answers[_STARTED] = True
    return True


def put(session: Session, kind: str, key: Any, value: Any) -> None:
    session.info.setdefault(_KEY, {})[(kind, key)] = value


def take(session: Session, kind: str, key: Any) -> Any:
    """The answer stored for this lookup (removed: it serves once), or MISSING."""
    answers = session.info.get(_KEY)
    if not answers:
        return MISSING
    return answers.pop((kind, key), MISSING)


def forget(session: Session, kind: str, requester_id: int | None) -> None:
    """Drop the answer of this kind about this requester: a write may have changed it."""
    answers = session.info.get(_KEY)
    if answers:
        answers.pop((kind, requester_id), None)


def _clear(session: Session, transaction: Any) -> None:
    if transaction.parent is None and _KEY in session.info:  # answers hold for one transaction
        session.info.pop(_KEY, None)


event.listen(Session, "after_transaction_end", _clear)
