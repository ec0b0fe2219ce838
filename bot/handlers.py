"""Inbound event handlers by source. The web process and `helpdesk worker` use the same handlers."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy.orm import Session

from bot.inbox import PermanentEventError
from bot.pipeline import Inquiry, handle_inquiry
from helpdesk.services import Services
from tickets.directory import requester_for_web
from tickets.models import Channel, InboundEvent, Message

EventHandler = Callable[[Services, Session, InboundEvent], None]
# Work a source's handler can have done before its transaction (the knowledge engine's answers), for
# the given stored events: a context during which the handlers running in this thread find it.
EventPreparer = Callable[[Services, list[int]], AbstractContextManager[None]]


def handle_web_event(services: Services, session: Session, event: InboundEvent) -> None:
    """A message typed into the /try chat page or `helpdesk chat`."""
    try:
        data = json.loads(event.payload)
        web_id = str(data["web_id"])[:64]
        text = str(data.get("text") or "")
    except (ValueError, KeyError, TypeError) as exc:
        raise PermanentEventError(f"malformed web chat event: {exc}") from None
    requester = requester_for_web(session, event.office_id, web_id)
    name = (data.get("display_name") or "").strip()
    if name and not requester.display_name:
        requester.display_name = name[:200]
    reply = handle_inquiry(
        session,
        Inquiry(
            office_id=event.office_id,
            channel=Channel.WEB.value,
            requester_id=requester.id,
            text=text,
            received_at=event.received_at,
            channel_message_id=event.source_id,
            inbound_event_id=event.id,
        ),
        services.knowledge(),
    )
    # The chat page reads replies straight from the database: they are delivered once stored.
    if reply.outbound_message_id is not None:
        message = session.get(Message, reply.outbound_message_id)
        if message is not None:
            message.delivery_state = "sent"


HANDLERS: dict[str, EventHandler] = {"web": handle_web_event}
PREPARERS: dict[str, EventPreparer] = {}


def register(source: str, handler: EventHandler, preparer: EventPreparer | None = None) -> None:
    HANDLERS[source] = handler
    if preparer is not None:
        PREPARERS[source] = preparer
