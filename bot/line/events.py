"""Webhook events: parsing with the SDK models one event at a time, and what the handlers need from them.

`WebhookParser.parse` of the SDK parses a whole batch and fails as a whole on one odd event (a missing
webhookEventId raises; a text message without quoteToken becomes an UnknownEvent), so the webhook checks
the signature with the SDK, then parses each event alone with `Event.from_dict` and skips what fails.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from linebot.v3.webhooks import (
    AudioMessageContent,
    Event,
    FileMessageContent,
    FollowEvent,
    GroupSource,
    ImageMessageContent,
    MessageEvent,
    PostbackEvent,
    RoomSource,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
    UnsendEvent,
    UserSource,
    VideoMessageContent,
)

log = logging.getLogger(__name__)

MEDIA_TYPES = {
    ImageMessageContent: "image",
    VideoMessageContent: "video",
    AudioMessageContent: "audio",
    FileMessageContent: "file",
}


class UnparsableEvent(ValueError):
    pass


def parse_event(raw: Any) -> Event:
    """One webhook event as the SDK's model; UnparsableEvent when the SDK cannot read it."""
    if not isinstance(raw, dict):
        raise UnparsableEvent("event is not an object")
    if not isinstance(raw.get("webhookEventId"), str) or not raw["webhookEventId"]:
        raise UnparsableEvent("event without webhookEventId")
    try:
        event = Event.from_dict(raw)
    except Exception as exc:  # pydantic ValidationError, ValueError for unknown types, TypeError...
        raise UnparsableEvent(f"{raw.get('type')!r} event the SDK cannot read: {type(exc).__name__}") from None
    if event is None:
        raise UnparsableEvent("empty event")
    return event


@dataclass(frozen=True)
class Chat:
    """Where an event came from and where answers go."""

    kind: str  # "user" | "group" | "room"
    chat_id: str  # userId / groupId / roomId: the push target
    user_id: str | None  # the person (absent in groups when they did not consent to share it)

    @property
    def requester_key(self) -> str:
        return self.user_id or self.chat_id

    @property
    def is_group(self) -> bool:
        return self.kind != "user"


def chat_of(event: Event) -> Chat | None:
    src = getattr(event, "source", None)
    if isinstance(src, UserSource) and src.user_id:
        return Chat("user", src.user_id, src.user_id)
    if isinstance(src, GroupSource):
        return Chat("group", src.group_id, src.user_id)
    if isinstance(src, RoomSource):
        return Chat("room", src.room_id, src.user_id)
    return None


def chat_of_raw(raw: dict[str, Any]) -> str:
    """The lane key of a raw event (cheap, no model): events of one chat are processed in order."""
    src = raw.get("source") or {}
    return str(src.get("groupId") or src.get("roomId") or src.get("userId") or "")


def addressed_text(event: MessageEvent, chat: Chat) -> str | None:
    """The text meant for the bot: all of it in a one-to-one chat; in a group or room only when the bot
    is mentioned, with the mention itself cut out. None when the message is not for the bot."""
    message = event.message
    if not isinstance(message, TextMessageContent):
        return None
    text = message.text or ""
    if not chat.is_group:
        return text
    mention = message.mention
    spans = []
    mentioned = False
    for m in (mention.mentionees if mention else None) or []:
        if getattr(m, "is_self", None):
            mentioned = True
            spans.append((m.index, m.length))
    if not mentioned:
        return None
    # LINE counts index/length in UTF-16 code units.
    units = text.encode("utf-16-le")
    for index, length in sorted(spans, reverse=True):
        units = units[: index * 2] + units[(index + length) * 2:]
    return re.sub(r"[ \t]{2,}", " ", units.decode("utf-16-le", "replace")).strip()


def is_mentioned(event: MessageEvent) -> bool:
    message = event.message
    mention = getattr(message, "mention", None)
    return any(getattr(m, "is_self", None) for m in (mention.mentionees if mention else None) or [])


def media_kind(event: MessageEvent) -> str | None:
    for cls, kind in MEDIA_TYPES.items():
        if isinstance(event.message, cls):
            return kind
    return None


def reply_token_of(event: Event) -> str | None:
    return getattr(event, "reply_token", None)


def describe(event: Event) -> str:
    if isinstance(event, MessageEvent):
        return f"message/{getattr(event.message, 'type', '?')}"
    return str(getattr(event, "type", type(event).__name__))


__all__ = [
    "Chat",
    "FollowEvent",
    "MessageEvent",
    "PostbackEvent",
    "StickerMessageContent",
    "TextMessageContent",
    "UnfollowEvent",
    "UnparsableEvent",
    "UnsendEvent",
    "addressed_text",
    "chat_of",
    "chat_of_raw",
    "describe",
    "is_mentioned",
    "media_kind",
    "parse_event",
    "reply_token_of",
]
