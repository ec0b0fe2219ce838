"""Outbound messages leave through this outbox: stored with the change that caused them, then delivered
by a Transport per channel. Transient failures are retried with backoff (honouring Retry-After);
permanent ones are recorded on the message and the ticket. A dedupe key makes enqueueing idempotent.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot import leasing
from helpdesk.db import write_session
from tickets.models import Message, OutboxMessage, OutboxStatus, utcnow
from tickets.registry import audit

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 10
MAX_AGE = timedelta(hours=24)


class TransportError(Exception):
    """A delivery failed. permanent=True: give up and record why; otherwise retry later."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Transport:
    """One outbound channel. Subclasses implement send(); they must be safe to call again for a retry."""

    channel: str = ""

    def send(self, item: OutboxMessage) -> dict[str, Any] | None:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def enqueue(
    session: Session,
    *,
    office_id: int,
    channel: str,
    recipient: str,
    payload: dict[str, Any],
    dedupe_key: str,
    ticket_id: int | None = None,
    message_id: int | None = None,
    locked_until: datetime | None = None,
    known_new: bool = False,
) -> OutboxMessage:
    """Store an item to send (once per `dedupe_key`; the existing item is returned for a repeated key).

    `known_new`: the caller owns the key (it is derived from an event this very transaction claimed), so
    the lookup is skipped. `locked_until`: the caller sends the item itself right after the commit and
    holds it as a claim would; the worker takes it only when that lease runs out."""
    if not known_new:
        existing = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    item = OutboxMessage(
        office_id=office_id,
        channel=channel,
        recipient=recipient,
        payload=payload,
        dedupe_key=dedupe_key[:200],
        retry_key=str(uuid.uuid4()),
        ticket_id=ticket_id,
        message_id=message_id,
        status=OutboxStatus.PENDING.value,
        next_attempt_at=utcnow(),
        locked_until=locked_until,
    )
    session.add(item)
    session.flush()
    return item


def claim_due(engine: Engine, channels: list[str], limit: int = 20, ids: list[int] | None = None) -> list[int]:
    return leasing.claim_due(engine, OutboxMessage, OutboxMessage.channel.in_(channels), lease=LEASE, limit=limit,
                             ids=ids)


def deliver_one(engine: Engine, item_id: int, transport: Transport) -> str:
    """Send one claimed item outside any transaction, then record the outcome."""
    with write_session(engine) as session:
        item = session.get(OutboxMessage, item_id)
        if item is None or item.status != OutboxStatus.PENDING.value:
            return item.status if item else "missing"
        session.expunge(item)
    try:
        result = transport.send(item) or {}
        error: TransportError | None = None
    except TransportError as exc:
        error, result = exc, {}
    except Exception as exc:  # unexpected: treat as transient, keep the message
        log.exception("outbox %s: transport crashed", item_id)
        error, result = TransportError(f"{type(exc).__name__}: {exc}"), {}

    with write_session(engine) as session:
        item = session.get(OutboxMessage, item_id)
        assert item is not None
        item.attempts += 1
        item.locked_until = None
        message = session.get(Message, item.message_id) if item.message_id else None
        if error is None:
            item.status = OutboxStatus.SENT.value
            item.sent_at = utcnow()
            item.last_error = None
            if message is not None:
                message.delivery_state = "sent"
                if result.get("channel_message_id"):
                    message.channel_message_id = str(result["channel_message_id"])[:255]
            return item.status
        item.last_error = str(error)[:2000]
        too_old = utcnow() - item.created_at > MAX_AGE
        if error.permanent or item.attempts >= MAX_ATTEMPTS or too_old:
            item.status = OutboxStatus.FAILED.value
            if message is not None:
                message.delivery_state = "failed"
            audit(
                session,
                office_id=item.office_id,
                ticket_id=item.ticket_id,
                actor="system",
                action="delivery_failed",
                details={"outbox_id": item.id, "channel": item.channel, "error": item.last_error[:300]},
            )
            log.warning("outbox %s failed permanently: %s", item_id, item.last_error)
        else:
            delay = error.retry_after if error.retry_after is not None else backoff(item.attempts).total_seconds()
            item.next_attempt_at = utcnow() + timedelta(seconds=max(0.0, delay))
        return item.status


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(300, 2 ** min(attempts, 9)))


def deliver_due(engine: Engine, transports: dict[str, Transport], limit: int = 50) -> DeliveryReport:
    if not transports:
        return DeliveryReport()
    counts = {"sent": 0, "retried": 0, "failed": 0}
    for item_id in claim_due(engine, list(transports), limit=limit):
        with write_session(engine) as session:
            channel = session.scalar(select(OutboxMessage.channel).where(OutboxMessage.id == item_id))
        status = deliver_one(engine, item_id, transports[channel])
        key = {"sent": "sent", "failed": "failed"}.get(status, "retried")
        counts[key] += 1
    return DeliveryReport(**counts)
