"""The small public page where a requester answers a follow-up from an e-mail link (/f/<token>).

The link is signed, single-use and expires; it shows no personal data, only the ticket number.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from helpdesk.app import services
from helpdesk.db import write_session
from tickets.followup import TokenError, follow_up_for_token, record_answer
from tickets.models import Ticket

bp = Blueprint("followup", __name__, template_folder="templates")


def _bool(value: str | None) -> bool | None:
    return {"1": True, "0": False}.get(value or "")


@bp.route("/f/<token>", methods=["GET", "POST"])
def answer(token: str):  # type: ignore[no-untyped-def]
    svc = services()
    with write_session(svc.engine) as session:
        try:
            follow_up = follow_up_for_token(session, token, svc.settings.secret_key)
        except TokenError as exc:
            return render_template("followup.html", error=str(exc)), 410
        ticket = session.get(Ticket, follow_up.ticket_id)
        number = ticket.number if ticket else "-"
        if request.method == "GET":
            return render_template("followup.html", number=number, token=token,
                                   preset_solved=request.args.get("solved"))
        solved = _bool(request.form.get("solved"))
        understood = _bool(request.form.get("understood"))
        score_raw = request.form.get("score") or ""
        score = int(score_raw) if score_raw.isdigit() and 1 <= int(score_raw) <= 5 else None
        if solved is None or understood is None or score is None:
            return render_template("followup.html", number=number, token=token,
                                   error_form="กรุณาตอบให้ครบทั้ง 3 ข้อ"), 400
        record_answer(session, follow_up, channel="email", solved=solved, understood=understood, score=score,
                      comment=(request.form.get("comment") or "").strip() or None, final=True)
        follow_up.token_hash = None  # single use
        return render_template("followup.html", number=number, done=True, solved=solved)
