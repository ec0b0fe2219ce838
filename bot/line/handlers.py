"""The LINE event handler: bot.handlers' entry point for source "line", one function per event type.

Runs inside the transaction that marks the stored event done (bot.inbox.process_event), so everything it
records, including the outbox item of its answer, commits together or not at all.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from linebot.v3.webhooks import (
    FileMessageContent,
    FollowEvent,
    JoinEvent,
    LeaveEvent,
    MessageEvent,
    PostbackEvent,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
    UnsendEvent,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.inbox import PermanentEventError
from bot.line import commands, conversation, flex, media, render
from bot.line import messages_th as T
from bot.line.context import Ctx, Prepared
from bot.line.events import UnparsableEvent, addressed_text, chat_of, describe, media_kind, parse_event
from bot.pipeline import Inquiry, handle_inquiry
from helpdesk.services import Services
from tickets import prefetch, registry, sla
from tickets.directory import prefetch_line_requesters, requester_for_line
from tickets.models import EventStatus, InboundEvent, Message, Requester, utcnow

log = logging.getLogger(__name__)

MEDIA_TICKET_WINDOW = timedelta(days=14)


class _PrecomputedEngine:
    """The knowledge engine, with the answer computed before the transaction began reused once."""

    def __init__(self, engine: Any, prepared: Prepared | None) -> None:
        self._engine = engine
        self._prepared = prepared

    def answer(self, text: str, subject: str | None = None) -> Any:
        prepared, self._prepared = self._prepared, None
        if prepared is not None and subject is None and prepared.text == text and prepared.answer is not None:
            return prepared.answer
        return self._engine.answer(text, subject=subject)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def handle_line_event(services: Services, session: Session, row: InboundEvent) -> None:
    from bot.line.runtime import runtime_for

    rt = runtime_for(services)
    if prefetch.first_ask(session):
        _prefetch_group(rt, session, row.office_id)
    # Two processes that both hold this event (a lease ran out) are serialised by process_event, which
    # marks the event done first; the second finds it done and never gets here.
    prepared = rt.take_prepared(row.id)
    try:
        if prepared is not None and prepared.event is not None and prepared.raw is not None:
            raw, event = prepared.raw, prepared.event  # the webhook's own parse, no read back
        else:
            raw = json.loads(row.payload)
            event = parse_event(raw)
    except (ValueError, UnparsableEvent) as exc:
        raise PermanentEventError(f"LINE event: {exc}") from None
    chat = chat_of(event)
    if chat is None:
        log.info("LINE %s event without a usable source: ignored", describe(event))
        return
    if isinstance(event, UnfollowEvent):
        _on_unfollow(session, row, chat.requester_key)
        return
    if isinstance(event, JoinEvent | LeaveEvent):
        log.info("LINE %s (%s)", describe(event), chat.kind)
        return

    text: str | None = None
    if isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
        text = addressed_text(event, chat)
        if text is None:
            # A group message not meant for the bot: keep nothing of what people said to each other.
            row.payload = json.dumps({"type": "message", "webhookEventId": raw.get("webhookEventId"),
                                      "note": "group message not addressed to the bot"}).encode()
            return
    elif chat.is_group and not isinstance(event, PostbackEvent | UnsendEvent):
        return  # in groups only mentions and the bot's own buttons are answered

    requester = requester_for_line(session, row.office_id, chat.requester_key)
    if requester.erased_at is not None:
        requester.erased_at = None  # a requester who was erased and writes again starts afresh
    ctx = Ctx(rt=rt, session=session, row=row, event=event, chat=chat, requester=requester,
              reply_token=getattr(event, "reply_token", None),
              redelivery=bool(raw.get("deliveryContext", {}).get("isRedelivery")),
              prepared=prepared)

    if isinstance(event, MessageEvent):
        if text is not None:
            on_text(ctx, text)
        elif isinstance(event.message, StickerMessageContent):
            on_sticker(ctx)
        elif media_kind(event) is not None:
            on_media(ctx, media_kind(event) or "file")
        elif not chat.is_group:
            ctx.record_inbound(f"[{getattr(event.message, 'type', 'message')}]", kind="other")
            ctx.reply(flex.plain(T.UNSUPPORTED_MESSAGE))
    elif isinstance(event, FollowEvent):
        on_follow(ctx, bool(event.follow and event.follow.is_unblocked))
    elif isinstance(event, PostbackEvent):
        commands.on_postback(ctx, event.postback.data if event.postback else "")
    elif isinstance(event, UnsendEvent):
        on_unsend(ctx, event.unsend.message_id)
    else:
        log.info("LINE %s event ignored", describe(event))
    ctx.flush()


def _prefetch_group(rt: Any, session: Session, office_id: int) -> None:
    """At the first event of a group transaction: what its handlers will ask about their requesters,
    in one query per question for the group (see tickets.prefetch). Requesters with several events in
    the group are left out: an earlier event could change what a later one reads.

    The office (its SLA settings) is read here too, once per transaction as before, but ahead of the
    first new ticket: on PostgreSQL that ticket's number keeps the counter locked to the commit."""
    sla.office_of(session, office_id)
    keys = Counter(chat.requester_key for chat in (chat_of(p.event) for p in rt.waiting_prepared()
                                                    if p.event is not None) if chat is not None)
    once = [key for key, n in keys.items() if n == 1]
    if len(once) < 2:
        return  # a lone event asks its own questions: as many queries either way
    ids = [r.id for r in prefetch_line_requesters(session, office_id, once).values()]
    if ids:
        conversation.prefetch_for(session, ids)
        registry.prefetch_open_tickets(session, ids)


def _event_time(ctx: Ctx) -> datetime:
    ts = getattr(ctx.event, "timestamp", None)
    if isinstance(ts, int) and ts > 0:
        when = datetime.fromtimestamp(ts / 1000, UTC)
        if abs((when - utcnow()).total_seconds()) < 7 * 86400:
            return when
    return ctx.row.received_at


def on_text(ctx: Ctx, text: str) -> None:
    cmd = commands.parse_command(text)
    if cmd is not None:
        commands.run_command(ctx, cmd, text)
        return
    conv = conversation.current(ctx.session, ctx.requester.id)
    if conv is not None and commands.step(ctx, conv, text):
        return
    if commands.numeric_choice(ctx, text):
        return
    answer_with_pipeline(ctx, text)


def answer_with_pipeline(ctx: Ctx, text: str) -> None:
    message = ctx.event.message
    inquiry = Inquiry(
        office_id=ctx.office_id,
        channel="line",
        requester_id=ctx.requester.id,
        text=text,
        received_at=_event_time(ctx),
        channel_message_id=getattr(message, "id", None),
        inbound_event_id=ctx.row.id,
        meta={"line_chat": ctx.chat.kind} if ctx.chat.is_group else {},
    )
    engine = _PrecomputedEngine(ctx.rt.knowledge(), ctx.prepared)
    reply = handle_inquiry(ctx.session, inquiry, engine)
    if reply.ticket is not None and reply.new_ticket:
        media.adopt_recent(ctx, reply.ticket)
    ctx.reply(render.from_reply(reply), ticket=reply.ticket, message_id=reply.outbound_message_id)


def on_sticker(ctx: Ctx) -> None:
    ctx.record_inbound("(สติกเกอร์)", kind="sticker")
    ctx.reply(flex.plain(T.STICKER_REPLIES[ctx.row.id % len(T.STICKER_REPLIES)], flex.command_actions()))


def on_media(ctx: Ctx, kind: str) -> None:
    message = ctx.event.message
    conv = conversation.current(ctx.session, ctx.requester.id)
    if kind == "image" and conv is not None and conv.flow == "repair" and conv.step == "photo":
        commands.finish_repair(ctx, conv, media_message_id=message.id)
        return
    ticket = registry.latest_open_ticket(ctx.session, ctx.requester.id, since=utcnow() - MEDIA_TICKET_WINDOW)
    provider = getattr(message, "content_provider", None)
    external = provider.original_content_url if provider is not None and provider.type == "external" else None
    file_name = message.file_name if isinstance(message, FileMessageContent) else None
    file_size = message.file_size if isinstance(message, FileMessageContent) else None
    _msg, _att, too_large = media.attach(ctx, ticket, kind, message.id, file_name=file_name, file_size=file_size,
                                         external_url=external)
    label = T.MEDIA_LABEL.get(kind, kind)
    image_set = getattr(message, "image_set", None)
    if too_large:
        ctx.reply(flex.plain(T.MEDIA_TOO_LARGE.format(name=file_name or label,
                                                      limit=T.size_th(ctx.rt.options.max_attachment_bytes))),
                  ticket=ticket)
    elif image_set is not None and image_set.index not in (None, 1):
        return  # one answer per set of images
    elif ticket is not None:
        ctx.reply(flex.plain(T.MEDIA_ATTACHED.format(kind=label, number=ticket.number)), ticket=ticket)
    else:
        ctx.reply(flex.plain(T.MEDIA_NO_TICKET.format(kind=label)))


def on_follow(ctx: Ctx, unblocked: bool) -> None:
    requester = ctx.requester
    requester.following = True
    registry.audit(ctx.session, office_id=ctx.office_id, actor=ctx.actor, action="line_follow",
                   details={"unblocked": unblocked})
    office = ctx.rt.services.settings.office_name
    welcome = T.WELCOME_BACK if unblocked else T.WELCOME.format(office=office)
    ctx.reply(flex.plain(welcome))
    ctx.reply(flex.plain(T.PDPA_NOTICE))
    if requester.school_id is None and not requester.school_text:
        commands.ask_school(ctx)


def _on_unfollow(session: Session, row: InboundEvent, key: str) -> None:
    requester = session.scalar(select(Requester).where(Requester.office_id == row.office_id,
                                                       Requester.line_user_id == key))
    if requester is None:
        return
    requester.following = False
    conversation.clear(session, requester.id)
    registry.audit(session, office_id=row.office_id, actor=f"requester:{requester.id}", action="line_unfollow")


def on_unsend(ctx: Ctx, line_message_id: str) -> None:
    now = utcnow()
    found = list(ctx.session.scalars(select(Message).where(
        Message.office_id == ctx.office_id, Message.channel == "line", Message.direction == "in",
        Message.channel_message_id == line_message_id, Message.requester_id == ctx.requester.id)))
    for message in found:
        if message.withdrawn_at is None:
            message.withdrawn_at = now
            if message.ticket_id is not None:
                registry.audit(ctx.session, office_id=ctx.office_id, ticket_id=message.ticket_id, actor=ctx.actor,
                               action="message_withdrawn", details={"message_id": message.id})
    media.cancel_for_messages(ctx.session, [m.id for m in found])


@contextmanager
def prepared_in_worker(services: Services, event_ids: list[int]) -> Iterator[None]:
    """`helpdesk worker`'s LINE events, prepared as a lane prepares them: parsed, and the knowledge
    engine's answers worked out before the transaction, not while it holds SQLite's write lock."""
    from bot.line.runtime import runtime_for

    rt = runtime_for(services)
    with services.session_factory() as session:
        rows = session.execute(select(InboundEvent.id, InboundEvent.payload).where(
            InboundEvent.id.in_(event_ids), InboundEvent.status == EventStatus.PENDING.value)).all()
    prepared: dict[int, Prepared] = {}
    for event_id, payload in rows:
        try:
            raw = json.loads(payload)
        except ValueError:
            continue  # the handler records why it cannot be processed
        p = prepare(rt, raw) if isinstance(raw, dict) else None
        if p is not None:
            prepared[event_id] = p
    with rt.handing_over(prepared):
        yield


def prepare(rt: Any, raw: dict[str, Any], event: Any = None) -> Prepared | None:
    """Outside any transaction: the SDK model of the event and, for a text message that will likely need
    it, the knowledge engine's answer."""
    if event is None:
        try:
            event = parse_event(raw)
        except UnparsableEvent:
            return None
    prepared = Prepared(event=event, raw=raw)
    if not isinstance(event, MessageEvent) or not isinstance(event.message, TextMessageContent):
        return prepared
    chat = chat_of(event)
    if chat is None:
        return prepared
    text = addressed_text(event, chat)
    if text is None or commands.parse_command(text) is not None or len(text.strip()) <= 1:
        return prepared
    try:
        prepared.text, prepared.answer = text, rt.knowledge().answer(text)
    except Exception:
        log.exception("knowledge engine failed while preparing an answer")
    return prepared
