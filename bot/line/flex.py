"""LINE message objects as plain JSON dicts (Flex cards, text, quick replies) with LINE's limits applied.

Every rich message is built together with its plain-text fallback: the Flex altText (what notifications
and old clients show) and a whole text message the transport sends instead if LINE refuses the card.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from bot.line import messages_th as T

MAX_TEXT = 5000
MAX_ALT = 400
MAX_LABEL = 20
MAX_QUICK = 13
MAX_POSTBACK = 300
MAX_CARD_TEXT = 1800
HEADER_BG = "#1E4E8C"
ACCENT = "#1E4E8C"
MUTED = "#7A7A7A"


def clip(text: str, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def postback_data(**values: Any) -> str:
    data = urlencode({k: v for k, v in values.items() if v is not None})
    if len(data) > MAX_POSTBACK:
        raise ValueError("postback data too long")
    return data


# ---- actions and quick replies
def message_action(label: str, text: str) -> dict[str, Any]:
    return {"type": "message", "label": clip(label, MAX_LABEL), "text": clip(text, 300)}


def postback_action(label: str, display: str | None = None, **values: Any) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "postback", "label": clip(label, MAX_LABEL), "data": postback_data(**values)}
    if display:
        action["displayText"] = clip(display, 300)
    return action


def uri_action(label: str, uri: str) -> dict[str, Any]:
    return {"type": "uri", "label": clip(label, MAX_LABEL), "uri": uri}


def camera_action() -> dict[str, Any]:
    return {"type": "camera", "label": T.BTN_CAMERA}


def camera_roll_action() -> dict[str, Any]:
    return {"type": "cameraRoll", "label": T.BTN_CAMERA_ROLL}


def quick_reply(actions: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    items = [{"type": "action", "action": a} for a in actions][:MAX_QUICK]
    return {"items": items} if items else None


def rating_actions(ticket: str | None) -> list[dict[str, Any]]:
    return [postback_action(label, label, a="rate", t=ticket, s=score) for score, label in T.RATING_LABELS.items()]


def command_actions() -> list[dict[str, Any]]:
    return [message_action(T.CMD_STATUS, T.CMD_STATUS), message_action(T.CMD_REPAIR, T.CMD_REPAIR),
            message_action(T.CMD_HUMAN, T.CMD_HUMAN)]


# ---- messages
def text_message(text: str, quick: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "text", "text": clip(tidy(text) or "-", MAX_TEXT)}
    qr = quick_reply(quick or [])
    if qr:
        message["quickReply"] = qr
    return message


def flex_message(alt: str, contents: dict[str, Any], quick: Sequence[dict[str, Any]] | None = None
                 ) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "flex", "altText": clip(alt.strip() or "-", MAX_ALT), "contents": contents}
    qr = quick_reply(quick or [])
    if qr:
        message["quickReply"] = qr
    return message


_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")


def tidy(text: str) -> str:
    """At most one empty line in a row."""
    return _BLANK_LINES.sub("\n\n", (text or "").strip())


def text_component(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "text", "text": clip(tidy(text) or "-", MAX_CARD_TEXT), "wrap": True, **style}


def _button(action: dict[str, Any], primary: bool = False) -> dict[str, Any]:
    return {"type": "button", "action": action, "style": "primary" if primary else "secondary", "height": "sm",
            **({"color": ACCENT} if primary else {})}


def bubble(header: str, body: Sequence[dict[str, Any]], buttons: Sequence[dict[str, Any]] = (),
           subtitle: str | None = None) -> dict[str, Any]:
    head: list[dict[str, Any]] = [text_component(header, weight="bold", size="md", color="#FFFFFF")]
    if subtitle:
        head.append(text_component(subtitle, size="xs", color="#DDE6F3"))
    card: dict[str, Any] = {
        "type": "bubble",
        "size": "mega",
        "header": {"type": "box", "layout": "vertical", "contents": head, "backgroundColor": HEADER_BG,
                   "paddingAll": "md"},
        "body": {"type": "box", "layout": "vertical", "spacing": "md", "contents": list(body)},
    }
    if buttons:
        card["footer"] = {"type": "box", "layout": "vertical", "spacing": "sm",
                          "contents": [_button(b, primary=(i == 0)) for i, b in enumerate(buttons)]}
    return card


@dataclass
class Outgoing:
    """What to send for one reply: LINE messages plus their plain-text version."""

    messages: list[dict[str, Any]]
    fallback: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""  # what the register records as the bot's message

    def payload(self) -> dict[str, Any]:
        return {"messages": self.messages[:5], "fallback": (self.fallback or [])[:5]}


def plain(text: str, quick: Sequence[dict[str, Any]] | None = None) -> Outgoing:
    message = text_message(text, quick)
    return Outgoing([message], [message], text)


def card(header: str, body_text: str, *, alt: str, buttons: Sequence[dict[str, Any]] = (),
         notes: Sequence[str] = (), subtitle: str | None = None, quick: Sequence[dict[str, Any]] | None = None,
         plain_text: str | None = None) -> Outgoing:
    """A Flex bubble (header, body, small notes, buttons), its altText and its plain-text fallback.

    An answer too long for a card goes out as text with the same choices as quick replies."""
    full_plain = plain_text if plain_text is not None else "\n\n".join([body_text, *[n for n in notes if n]])
    fallback_quick = list(quick or []) + [b for b in buttons if b.get("type") != "uri"]
    fallback = [text_message(full_plain, fallback_quick)]
    if len(body_text) > MAX_CARD_TEXT:
        return Outgoing(fallback, fallback, full_plain)
    body: list[dict[str, Any]] = [text_component(body_text, size="sm")]
    notes = [n for n in notes if n]
    if notes:
        body.append({"type": "separator"})
        body.extend(text_component(n, size="xxs", color=MUTED) for n in notes)
    contents = bubble(header, body, buttons, subtitle)
    return Outgoing([flex_message(alt, contents, quick)], fallback, full_plain)


def tickets_carousel(rows: Sequence[dict[str, str]], quick: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Open tickets as a carousel of small bubbles (max 10)."""
    bubbles = []
    for row in rows[:10]:
        bubbles.append({
            "type": "bubble",
            "size": "kilo",
            "header": {"type": "box", "layout": "vertical", "backgroundColor": HEADER_BG, "paddingAll": "md",
                       "contents": [text_component(row["number"], weight="bold", size="sm", color="#FFFFFF")]},
            "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": [
                text_component(row["status"], weight="bold", size="sm", color=ACCENT),
                text_component(clip(row["subject"], 120), size="sm"),
                text_component(row["created"], size="xxs", color=MUTED),
            ]},
        })
    return {"type": "carousel", "contents": bubbles}
