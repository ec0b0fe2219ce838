"""From the pipeline's Reply (or an article) to LINE messages: Flex cards with plain-text fallbacks."""

from __future__ import annotations

from typing import Any

from bot.line import flex
from bot.line import messages_th as T
from bot.line.flex import Outgoing
from bot.pipeline import Reply


def _split_body(answer_text: str, citation: str | None) -> tuple[str, str | None]:
    body = answer_text.strip()
    if citation and citation in body:
        body = body.replace(citation, "").strip()
    return body, citation


def _extra_lines(reply: Reply, answer_text: str) -> str:
    """What the pipeline added to the engine's text (ticket number lines)."""
    rest = reply.text.replace(answer_text, "", 1) if answer_text else reply.text
    return rest.strip()


def alternatives_box(alternatives: list[Any], ticket: str | None) -> dict[str, Any]:
    rows = []
    for i, article in enumerate(alternatives[:3], start=1):
        rows.append({
            "type": "box", "layout": "horizontal", "spacing": "sm", "paddingAll": "sm",
            "backgroundColor": "#EEF3FA", "cornerRadius": "md",
            "action": flex.postback_action(f"{i}. {article.title}", article.title, a="art", id=article.id, t=ticket),
            "contents": [
                {"type": "text", "text": f"{i}.", "flex": 0, "size": "sm", "weight": "bold", "color": flex.ACCENT},
                {"type": "text", "text": flex.clip(article.title, 200), "wrap": True, "size": "sm",
                 "color": flex.ACCENT},
            ],
        })
    return {"type": "box", "layout": "vertical", "spacing": "sm", "contents": rows}


def choice_actions(alternatives: list[Any], ticket: str | None) -> list[dict[str, Any]]:
    return [flex.postback_action(f"{i}. {a.title}", a.title, a="art", id=a.id, t=ticket)
            for i, a in enumerate(alternatives[:3], start=1)]


def from_reply(reply: Reply) -> Outgoing:
    answer = reply.answer
    number = reply.ticket_number
    subtitle = T.CARD_TICKET.format(number=number) if number else None
    if answer is None or reply.kind in ("status", "not_found", "greeting", "feedback"):
        quick = flex.command_actions() if reply.kind == "greeting" else None
        return flex.plain(reply.text, quick)

    if reply.kind == "choices" and reply.alternatives:
        alts = reply.alternatives
        quick = [*choice_actions(alts, number), flex.postback_action(T.BTN_HUMAN, T.BTN_HUMAN, a="human", t=number)]
        intro = answer.text.strip().split("\n", 1)[0]
        contents = flex.bubble(T.CARD_CHOICES_HEADER, [flex.text_component(intro, size="sm"), alternatives_box(alts, number)],
                               subtitle=subtitle)
        fallback = [flex.text_message(reply.text, quick)]
        return Outgoing([flex.flex_message(T.ALT_CHOICES + ": " + " / ".join(a.title for a in alts[:3]),
                                           contents, quick)], fallback, reply.text)

    article = reply.article
    citation = article.citation_th() if article is not None else None
    body, source = _split_body(answer.text, citation)
    extra = _extra_lines(reply, answer.text)
    notes = [n for n in (source, extra) if n]
    if reply.handoff:
        header = article.title if article is not None else T.CARD_HANDOFF_HEADER
        buttons = [flex.message_action(T.BTN_TRACK, f"{T.CMD_TRACK} {number}")] if number else []
        quick = None
    else:
        header = article.title if article is not None else T.CARD_ANSWER_HEADER
        buttons = [flex.postback_action(T.BTN_SOLVED, T.BTN_SOLVED, a="ok", t=number),
                   flex.postback_action(T.BTN_HUMAN, T.BTN_HUMAN, a="human", t=number)]
        # Related articles stay one tap away.
        quick = choice_actions(reply.alternatives, number) if reply.alternatives else None
    alt = T.ALT_ANSWER.format(title=header) if article is not None else body
    return flex.card(header, body, alt=alt, buttons=buttons, notes=notes, subtitle=subtitle, quick=quick,
                     plain_text=reply.text)


def from_article(article: Any, ticket: str | None) -> Outgoing:
    """The answer card for an article the requester picked from the offered ones."""
    citation = article.citation_th()
    body = article.answer.strip()
    buttons = [flex.postback_action(T.BTN_SOLVED, T.BTN_SOLVED, a="ok", t=ticket),
               flex.postback_action(T.BTN_HUMAN, T.BTN_HUMAN, a="human", t=ticket)]
    subtitle = T.CARD_TICKET.format(number=ticket) if ticket else None
    return flex.card(article.title, body, alt=T.ALT_ANSWER.format(title=article.title), buttons=buttons,
                     notes=[citation], subtitle=subtitle, plain_text=f"{body}\n\n{citation}")
