"""The queue: filters, Thai search, sorting, pagination, bulk assignment and status changes, exports."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Response, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from admin import exports, security
from admin import labels as L
from admin.blueprint import bp
from admin.queries import (
    PAGE_SIZE,
    SEARCH_COUNT_CAP,
    SLA_STATES,
    SORTS,
    QueueFilter,
    format_be_input,
    page_query,
)
from helpdesk.app import db, services
from helpdesk.db import write_session
from tickets import registry
from tickets.models import Office, School, StaffUser, Ticket, utcnow
from tickets.sla import evaluate, office_rules


def office_clock(session: Any, office_id: int) -> tuple[datetime, datetime, Any, Any]:
    """(now, the end of the "about to breach" window, calendar, policy) for the office."""
    office = session.get(Office, office_id)
    cal, policy = office_rules(office.settings if office else None)
    now = utcnow()
    return now, cal.add_business_seconds(now, policy.warn_before_seconds), cal, policy


def sla_badge(ticket: Ticket, now: datetime, risk_until: datetime, cal: Any, policy: Any) -> str | None:
    states = evaluate(ticket, now, cal, policy, risk_until=risk_until, lateness=False)
    kinds = {s.state for s in states if s.target in ("first_response", "resolution")}
    for state in ("breached", "at_risk", "running", "met"):
        if state in kinds:
            return state
    return None


def choices(session: Any, office_id: int) -> dict[str, Any]:
    staff = session.execute(
        select(StaffUser.id, StaffUser.display_name)
        .where(StaffUser.office_id == office_id, StaffUser.active.is_(True), StaffUser.role != "viewer")
        .order_by(StaffUser.display_name)
    ).all()
    schools = session.execute(
        select(School.id, School.name).where(School.office_id == office_id).order_by(School.name)
    ).all()
    return {
        "staff_choices": staff,
        "school_choices": schools,
        "categories": L.CATEGORY_TH,
        "intents": L.INTENT_TH,
        "channels": L.CHANNEL_TH,
        "statuses": L.STATUS_TH,
        "urgencies": L.URGENCY_TH,
        "sla_states": {k: L.SLA_FILTER_TH[k] for k in SLA_STATES},
        "sorts": {k: L.SORT_TH[k] for k in SORTS},
    }


@bp.get("/")
@security.requires("viewer")
def home() -> Any:
    return redirect(url_for("admin.queue"))


@bp.get("/queue")
@security.requires("viewer")
def queue() -> Any:
    svc = services()
    s = db()
    f = QueueFilter.from_args(request.args)
    now, risk_until, cal, policy = office_clock(s, svc.office_id)
    rows_stmt, count_stmt = page_query(f, svc.office_id, g.staff.id, now, risk_until)
    total = s.scalar(count_stmt) or 0
    capped = bool(f.q) and total > SEARCH_COUNT_CAP
    rows = []
    for ticket, requester, school_name, assignee_name in s.execute(rows_stmt):
        rows.append({
            "t": ticket,
            "requester": requester_label(requester),
            "school": school_name or (requester.school_text if requester and not requester.erased_at else None),
            "assignee": assignee_name,
            "sla": sla_badge(ticket, now, risk_until, cal, policy),
        })
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    query = urlencode(f.to_args(page=1))
    return render_template(
        "admin/queue.html",
        f=f,
        rows=rows,
        total=total,
        capped=capped,
        pages=pages,
        page_url=lambda p: url_for("admin.queue") + "?" + urlencode(f.to_args(page=p)),
        sort_url=lambda key: url_for("admin.queue") + "?" + urlencode(f.to_args(sort=key, page=1)),
        export_query=query,
        date_from=format_be_input(f.date_from),
        date_to=format_be_input(f.date_to),
        **choices(s, svc.office_id),
    )


def requester_label(requester: Any) -> str:
    if requester is None:
        return L.NOT_SET
    if requester.erased_at is not None:
        return L.ERASED_LABEL
    if requester.display_name:
        return str(requester.display_name)
    if requester.email:
        return str(requester.email)
    if requester.line_user_id:
        return "ผู้ใช้ LINE"
    if requester.web_id:
        return "ผู้ใช้เว็บไซต์"
    return L.NOT_SET


@bp.post("/queue/bulk")
@security.requires("agent")
def queue_bulk() -> Any:
    svc = services()
    ids = [int(x) for x in request.form.getlist("ticket") if x.isdigit()][:500]
    action = request.form.get("action") or ""
    back = request.form.get("back") or ""
    back_url = url_for("admin.queue") + (("?" + back) if back and not back.startswith(("/", "http")) else "")
    if not ids or action not in ("assign", "status"):
        flash(L.BULK_NOTHING, "warning")
        return redirect(back_url, code=303)
    done = skipped = 0
    actor = security.actor()
    with write_session(svc.engine) as s:
        tickets = s.scalars(select(Ticket).where(Ticket.office_id == svc.office_id, Ticket.id.in_(ids))).all()
        if action == "assign":
            raw = request.form.get("assignee") or ""
            staff = None
            if raw.isdigit():
                staff = s.get(StaffUser, int(raw))
                if staff is None or staff.office_id != svc.office_id or not staff.active:
                    flash(L.BULK_NOTHING, "warning")
                    return redirect(back_url, code=303)
            elif raw != "none":
                flash(L.BULK_NOTHING, "warning")
                return redirect(back_url, code=303)
            for t in tickets:
                registry.assign(s, t, staff, actor=actor)
                done += 1
        else:
            status = request.form.get("status") or ""
            if status not in L.STATUS_TH:
                flash(L.BULK_NOTHING, "warning")
                return redirect(back_url, code=303)
            for t in tickets:
                try:
                    registry.change_status(s, t, status, actor=actor, note="bulk")  # validates first
                    done += 1
                except registry.InvalidTransition:
                    skipped += 1
    flash(L.BULK_DONE.format(done=done) + (L.BULK_SKIPPED.format(skipped=skipped) if skipped else ""),
          "success" if done else "warning")
    return redirect(back_url, code=303)


@bp.get("/queue/export.csv")
@security.requires("viewer")
def export_csv() -> Response:
    svc = services()
    f = QueueFilter.from_args(request.args)
    return exports.csv_response(svc, f, g.staff.id)


@bp.get("/queue/export.xlsx")
@security.requires("viewer")
def export_xlsx() -> Response:
    svc = services()
    f = QueueFilter.from_args(request.args)
    return exports.xlsx_response(svc, f, g.staff.id)
