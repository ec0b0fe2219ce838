"""The follow-up question on LINE (tickets.followup queues it; here it becomes buttons) and its answers.

Each button is a postback carrying the follow-up's signed token; answers arrive one button at a time and
go to tickets.followup.record_answer, which reopens the ticket on "not solved" and closes it when done.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.line import flex
from bot.line import messages_th as T
from bot.line.flex import Outgoing

if TYPE_CHECKING:
    from bot.line.context import Ctx

log = logging.getLogger(__name__)


def _row(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": "box", "layout": "horizontal", "spacing": "sm",
            "contents": [{"type": "button", "style": "secondary", "height": "sm", "action": b} for b in buttons]}


def followup_messages(payload: dict[str, Any]) -> Outgoing:
    token = str(payload["token"])
    number = payload.get("ticket_number")
    text = str(payload.get("text") or "")

    def act(label: str, key: str, value: int, display: str | None = None) -> dict[str, Any]:
        return flex.postback_action(label, display or label, a="fu", k=token, **{key: value})

    solved = [act(T.FU_SOLVED_YES, "s", 1), act(T.FU_SOLVED_NO, "s", 0)]
    understood = [act(T.FU_UNDERSTOOD_YES, "u", 1), act(T.FU_UNDERSTOOD_NO, "u", 0)]
    scores = [act(str(score), "r", score, f"{T.FU_SCORE} {score}") for score in range(5, 0, -1)]
    body = [
        flex.text_component(text, size="sm"),
        {"type": "separator"},
        flex.text_component(T.FU_Q_SOLVED, size="sm", weight="bold"), _row(*solved),
        flex.text_component(T.FU_Q_UNDERSTOOD, size="sm", weight="bold"), _row(*understood),
        flex.text_component(T.FU_Q_SCORE, size="sm", weight="bold"), _row(*scores),
    ]
    contents = flex.bubble(T.FU_HEADER, body, subtitle=T.CARD_TICKET.format(number=number) if number else None)
    quick = [*solved, *understood]
    fallback = [flex.text_message(text, [*quick, *scores])]
    return Outgoing([flex.flex_message(text, contents)], fallback, text)


def on_answer(ctx: Ctx, params: dict[str, str], label: str) -> None:
    from tickets import followup
    from tickets.models import Ticket

    token = params.get("k", "")
    try:
        follow_up = followup.follow_up_for_token(ctx.session, token, ctx.rt.services.settings.secret_key)
    except followup.TokenError as exc:
        ctx.record_inbound(label, kind="followup")
        ctx.reply(flex.plain(str(exc)))
        return
    ticket = ctx.session.get(Ticket, follow_up.ticket_id)
    if ticket is None or ticket.requester_id != ctx.requester.id:
        ctx.record_inbound(label, kind="followup")
        ctx.reply(flex.plain(T.POSTBACK_NOT_YOURS))
        return
    values: dict[str, Any] = {}
    if params.get("s") in ("0", "1"):
        values["solved"] = params["s"] == "1"
    if params.get("u") in ("0", "1"):
        values["understood"] = params["u"] == "1"
    if (params.get("r") or "").isdigit() and 1 <= int(params["r"]) <= 5:
        values["score"] = int(params["r"])
    ctx.record_inbound(label, ticket=ticket, kind="followup", meta={k: v for k, v in values.items()})
    if not values:
        ctx.reply(flex.plain(T.POSTBACK_UNKNOWN), ticket=ticket)
        return
    rating = followup.record_answer(ctx.session, follow_up, channel="line", **values)
    if values.get("solved") is False:
        ctx.reply(flex.plain(T.FU_REOPENED.format(number=ticket.number)), ticket=ticket)
    elif follow_up.status == "answered":
        ctx.reply(flex.plain(T.FU_THANKS), ticket=ticket)
    else:
        missing = [q for q, v in ((T.FU_Q_SOLVED, rating.solved), (T.FU_Q_UNDERSTOOD, rating.understood),
                                  (T.FU_Q_SCORE, rating.score)) if v is None]
        ctx.reply(flex.plain(T.FU_NOTED + ("\n" + T.FU_MORE.format(questions=" / ".join(missing)) if missing else "")),
                  ticket=ticket)
