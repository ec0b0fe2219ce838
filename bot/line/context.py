"""Per-event context for the handlers: who wrote, where answers go, and the one outbox item per event.

A reply token works once, so everything a handler wants to say about one event is gathered and leaves
as one outbox item (up to five LINE messages), enqueued in the same transaction that marks the event done.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from bot import outbox
from bot.line.events import Chat
from bot.line.flex import Outgoing
from tickets import registry
from tickets.models import Direction, InboundEvent, Requester, Ticket, utcnow

if TYPE_CHECKING:
    from bot.line.runtime import LineRuntime

CHANNEL = "line"

# Outbox items enqueued by the handler running in this thread (the web process delivers them at once).
_collected = threading.local()


@dataclass(frozen=True)
class OutboxSnapshot:
    """What the transport needs of an outbox item, kept from its creation (no read back after the commit)."""

    id: int
    payload: dict[str, Any]
    recipient: str
    retry_key: str
    message_id: int | None
    attempts: int = 0


def start_collecting() -> list[OutboxSnapshot]:
    items: list[OutboxSnapshot] = []
    _collected.ids = items
    return items


def stop_collecting() -> None:
    _collected.ids = None


def _collect(item: Any) -> bool:
    items = getattr(_collected, "ids", None)
    if items is None:
        return False
    items.append(OutboxSnapshot(item.id, dict(item.payload), item.recipient, item.retry_key, item.message_id))
    return True


@dataclass
class Prepared:
    """Work done before the event's transaction: the parsed event and, for a text message, the answer."""

    event: Any = None
    raw: dict[str, Any] | None = None
    text: str | None = None
    answer: Any = None


@dataclass
class Ctx:
    rt: LineRuntime
    session: Session
    row: InboundEvent
    event: Any  # the SDK event
    chat: Chat
    requester: Requester
    reply_token: str | None
    redelivery: bool
    prepared: Prepared | None = None
    _out: list[Outgoing] = field(default_factory=list)
    _ticket: Ticket | None = None
    _message_id: int | None = None
    _record: bool = True

    @property
    def office_id(self) -> int:
        return self.row.office_id

    @property
    def actor(self) -> str:
        return f"requester:{self.requester.id}"

    def reply(self, out: Outgoing, *, ticket: Ticket | None = None, message_id: int | None = None,
              record: bool = True) -> None:
        """Say something back. `message_id`: the outbound Message already recorded (by the pipeline)."""
        self._out.append(out)
        if ticket is not None and self._ticket is None:
            self._ticket = ticket
        if message_id is not None and self._message_id is None:
            self._message_id = message_id
            self._record = False
        elif not record:
            self._record = False

    def record_inbound(self, text: str, *, ticket: Ticket | None = None, kind: str | None = None,
                       channel_message_id: str | None = None, meta: dict[str, Any] | None = None) -> Any:
        return registry.add_message(
            self.session, ticket, office_id=self.office_id, direction=Direction.INBOUND, channel=CHANNEL,
            author="requester", text=text, actor=self.actor, requester_id=self.requester.id,
            channel_message_id=channel_message_id, inbound_event_id=self.row.id,
            meta={k: v for k, v in {"kind": kind, **(meta or {})}.items() if v is not None},
        )

    def flush(self) -> int | None:
        """Enqueue what was said as one outbox item (and record it as the bot's message)."""
        if not self._out:
            return None
        messages: list[dict[str, Any]] = []
        fallback: list[dict[str, Any]] = []
        texts: list[str] = []
        for out in self._out:
            messages.extend(out.messages)
            fallback.extend(out.fallback or out.messages)
            if out.text:
                texts.append(out.text)
        messages, fallback = _fit(messages), _fit(fallback)
        message_id = self._message_id
        if message_id is None and self._record:
            message = registry.add_message(
                self.session, self._ticket, office_id=self.office_id, direction=Direction.OUTBOUND, channel=CHANNEL,
                author="bot", text="\n\n".join(texts), actor="bot", requester_id=self.requester.id,
                meta={"kind": "line"}, delivery_state="pending")
            message_id = message.id
        payload: dict[str, Any] = {"to": self.chat.chat_id, "messages": messages, "fallback": fallback,
                                   "event_id": self.row.id}
        deadline = self.reply_deadline()
        if deadline is not None and self.reply_token:
            payload["reply_token"] = self.reply_token
            payload["reply_deadline"] = deadline
        # When this thread delivers the item right after the commit (a background lane), it holds the item
        # as a claim would, and the worker takes over only if this process dies (when the lease runs out).
        # The key is this event's, and the event is this transaction's: no item can exist yet.
        collecting = getattr(_collected, "ids", None) is not None
        item = outbox.enqueue(
            self.session, office_id=self.office_id, channel=CHANNEL, recipient=self.chat.chat_id, payload=payload,
            dedupe_key=f"line:event:{self.row.id}", ticket_id=self._ticket.id if self._ticket else None,
            message_id=message_id, locked_until=utcnow() + outbox.LEASE if collecting else None, known_new=True)
        _collect(item)
        self._out.clear()
        return item.id

    def reply_deadline(self) -> float | None:
        """Until when the reply token may be used: not for redeliveries (LINE retried; the token is old)."""
        if not self.reply_token or self.redelivery:
            return None
        received = self.row.received_at
        return (received + timedelta(seconds=self.rt.options.reply_token_ttl)).timestamp()


def _fit(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most five messages per request; the last one keeps its quick replies (LINE shows only the last's)."""
    out = messages if len(messages) <= 5 else [*messages[:4], messages[-1]]
    quick = None
    for m in out:
        if "quickReply" in m:
            quick = m["quickReply"]
    cleaned = [{k: v for k, v in m.items() if k != "quickReply"} for m in out]
    if quick is not None and cleaned:
        cleaned[-1]["quickReply"] = quick
    return cleaned
