"""PDPA requests (admin only): find a requester, export everything held about them, erase it."""

from __future__ import annotations

import io
from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from sqlalchemy import func, select

from admin import labels as L
from admin import pdpa, security
from admin.blueprint import bp
from admin.views_queue import requester_label
from helpdesk.app import db, services
from helpdesk.db import write_session
from tickets.models import Message, Requester, Ticket

CONFIRM_WORD = "ลบข้อมูล"


def _requester_or_404(session: Any, requester_id: int) -> Requester:
    r = session.get(Requester, requester_id)
    if r is None or r.office_id != services().office_id:
        abort(404)
    return r


@bp.get("/pdpa")
@security.requires("admin")
def pdpa_search() -> Any:
    q = request.args.get("q") or ""
    s = db()
    found = pdpa.find_requesters(s, services().office_id, q) if q.strip() else []
    counts = {}
    if found:
        ids = [r.id for r in found]
        counts = dict(s.execute(select(Ticket.requester_id, func.count(Ticket.id))
                                .where(Ticket.requester_id.in_(ids)).group_by(Ticket.requester_id)).all())
    return render_template("admin/pdpa.html", q=q, found=found, counts=counts, label=requester_label)


@bp.get("/pdpa/<int:requester_id>")
@security.requires("admin")
def pdpa_requester(requester_id: int) -> Any:
    s = db()
    r = _requester_or_404(s, requester_id)
    tickets = s.scalars(select(Ticket).where(Ticket.requester_id == r.id).order_by(Ticket.id.desc())).all()
    n_messages = s.scalar(select(func.count(Message.id)).where(Message.requester_id == r.id)) or 0
    return render_template("admin/pdpa_requester.html", r=r, tickets=tickets, n_messages=n_messages,
                           label=requester_label(r), confirm_word=CONFIRM_WORD)


@bp.post("/pdpa/<int:requester_id>/export")
@security.requires("admin")
def pdpa_export(requester_id: int) -> Any:
    with write_session(services().engine) as s:
        r = _requester_or_404(s, requester_id)
        content = pdpa.export_zip(s, r, security.actor())
    return send_file(io.BytesIO(content), mimetype="application/zip", as_attachment=True,
                     download_name=f"pdpa-requester-{requester_id}.zip")


@bp.post("/pdpa/<int:requester_id>/erase")
@security.requires("admin")
def pdpa_erase(requester_id: int) -> Any:
    if (request.form.get("confirm") or "").strip() != CONFIRM_WORD:
        flash(L.PDPA_CONFIRM_MISMATCH, "error")
        return redirect(url_for("admin.pdpa_requester", requester_id=requester_id), code=303)
    with write_session(services().engine) as s:
        r = _requester_or_404(s, requester_id)
        if r.erased_at is not None and not r.line_user_id and not r.email and not r.web_id:
            flash(L.PDPA_ALREADY, "info")
            return redirect(url_for("admin.pdpa_requester", requester_id=requester_id), code=303)
        report = pdpa.erase(s, r, security.actor())
    flash(L.PDPA_ERASED.format(tickets=report.tickets, messages=report.messages), "success")
    return redirect(url_for("admin.pdpa_requester", requester_id=requester_id), code=303)
