"""The ticket page: the whole conversation across channels with attachments, replies through the outbox,
internal notes, classification, status, assignee, merging duplicates, the audit trail and the SLA clock."""

from __future__ import annotations

import contextlib
from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, send_file, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from admin import labels as L
from admin import security
from admin.blueprint import bp
from admin.views_queue import choices, office_clock, requester_label
from bot.outbox import enqueue
from helpdesk.app import db, services
from helpdesk.db import write_session
from tickets import registry
from tickets.models import (
    Attachment,
    AuditLog,
    Direction,
    Message,
    OutboxMessage,
    Rating,
    Requester,
    StaffUser,
    Ticket,
    TicketStatus,
)
from tickets.sla import describe_lateness, evaluate

MAX_REPLY = 5000
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
REPLY_FOOTER = "\n\n— เจ้าหน้าที่กลุ่ม ICT (เรื่องเลขที่ {number})"


def _ticket_or_404(session: Session, number: str) -> Ticket:
    ticket = registry.get_by_number(session, services().office_id, number)
    if ticket is None:
        abort(404)
    return ticket


def reply_channels(ticket: Ticket, requester: Requester | None) -> list[str]:
    """The channels a staff reply can go out on, the ticket's own channel first."""
    if requester is None or requester.erased_at is not None:
        return []
    out = []
    if requester.line_user_id:
        out.append("line")
    if requester.email:
        out.append("email")
    if requester.web_id:
        out.append("web")
    out.sort(key=lambda c: c != ticket.channel)
    return out


@bp.get("/tickets/<number>")
@security.requires("viewer")
def ticket(number: str) -> Any:
    svc = services()
    s = db()
    t = _ticket_or_404(s, number)
    merged = s.scalars(select(Ticket).where(Ticket.merged_into_id == t.id).order_by(Ticket.id)).all()
    ids = [t.id, *(m.id for m in merged)]
    messages = s.scalars(
        select(Message).where(Message.ticket_id.in_(ids)).options(selectinload(Message.attachments))
        .order_by(Message.created_at, Message.id)
    ).all()
    staff_names = dict(s.execute(select(StaffUser.id, StaffUser.display_name)
                                 .where(StaffUser.office_id == svc.office_id)).all())
    outbox_errors = dict(s.execute(
        select(OutboxMessage.message_id, OutboxMessage.last_error)
        .where(OutboxMessage.ticket_id.in_(ids), OutboxMessage.message_id.is_not(None),
               OutboxMessage.last_error.is_not(None))
    ).all())
    audit_rows = s.scalars(select(AuditLog).where(AuditLog.ticket_id.in_(ids))
                          .order_by(AuditLog.created_at.desc(), AuditLog.id.desc()).limit(300)).all()
    ratings = s.scalars(select(Rating).where(Rating.ticket_id == t.id).order_by(Rating.id)).all()
    now, risk_until, cal, policy = office_clock(s, svc.office_id)
    sla_rows = []
    for st in evaluate(t, now, cal, policy, risk_until=risk_until):
        sla_rows.append({"target": st.target, "due": st.due, "done": st.done_at, "state": st.state,
                         "late": describe_lateness(st.late_seconds, cal) if st.state == "breached" else None})
    requester = t.requester
    return render_template(
        "admin/ticket.html",
        t=t,
        requester=requester,
        requester_name=requester_label(requester),
        school=(requester.school.name if requester and requester.school else
                (requester.school_text if requester and not requester.erased_at else None)),
        merged=merged,
        merged_into=s.get(Ticket, t.merged_into_id) if t.merged_into_id else None,
        messages=messages,
        staff_names=staff_names,
        outbox_errors=outbox_errors,
        audit_rows=audit_rows,
        ratings=ratings,
        sla_rows=sla_rows,
        reply_via=reply_channels(t, requester),
        inline_images=INLINE_IMAGES,
        actor_label=lambda a: _actor_label(a, staff_names),
        max_reply=MAX_REPLY,
        **choices(s, svc.office_id),
    )


def _actor_label(actor: str, staff_names: dict[int, str]) -> str:
    kind, _, ident = actor.partition(":")
    if kind == "staff" and ident.isdigit():
        return staff_names.get(int(ident), "เจ้าหน้าที่")
    return {"bot": "ระบบตอบอัตโนมัติ", "system": "ระบบ", "requester": "ผู้แจ้ง"}.get(kind, actor)


def _back(number: str) -> Response:
    return redirect(url_for("admin.ticket", number=number), code=303)  # type: ignore[return-value]


@bp.post("/tickets/<number>/reply")
@security.requires("agent")
def reply(number: str) -> Any:
    svc = services()
    text = (request.form.get("text") or "").strip()
    if not text:
        flash(L.REPLY_EMPTY, "error")
        return _back(number)
    if len(text) > MAX_REPLY:
        flash(L.REPLY_TOO_LONG.format(limit=MAX_REPLY), "error")
        return _back(number)
    user: StaffUser = g.staff
    actor = security.actor()
    with write_session(svc.engine) as s:
        t = _ticket_or_404(s, number)
        requester = t.requester
        available = reply_channels(t, requester)
        channel = request.form.get("channel") or (available[0] if available else "")
        if channel not in available or requester is None:
            flash(L.REPLY_NO_ADDRESS.format(channel=L.CHANNEL_TH.get(channel, channel or "-")), "error")
            return _back(number)
        body = text + REPLY_FOOTER.format(number=t.number)
        if t.assignee_id is None:
            staff = s.get(StaffUser, user.id)
            registry.assign(s, t, staff, actor=actor)
        message = registry.add_message(
            s, t, office_id=t.office_id, direction=Direction.OUTBOUND, channel=channel, author="staff",
            text=body, actor=actor, staff_id=user.id,
            delivery_state="sent" if channel == "web" else "pending",
        )
        if channel == "line":
            payload: dict[str, Any] = {"type": "text", "text": body, "to": requester.line_user_id,
                                       "messages": [{"type": "text", "text": body}], "subject": t.subject}
            recipient = str(requester.line_user_id)
        elif channel == "email":
            payload = {"type": "text", "text": body, "to": requester.email, "ticket_number": t.number,
                       "subject": f"Re: [{t.number}] {t.subject or 'เรื่องที่แจ้งกลุ่ม ICT'}"}
            recipient = str(requester.email)
        else:
            payload, recipient = {}, ""
        if channel in ("line", "email"):
            enqueue(s, office_id=t.office_id, channel=channel, recipient=recipient, payload=payload,
                    dedupe_key=f"staff-reply:{message.id}", ticket_id=t.id, message_id=message.id)
        after = request.form.get("after") or "keep"
        if after in ("waiting", "resolved") and t.status != after:
            with contextlib.suppress(registry.InvalidTransition):
                registry.change_status(s, t, after, actor=actor)
    if channel == "web":
        flash(L.REPLY_WEB, "success")
    else:
        flash(L.REPLY_QUEUED.format(channel=L.CHANNEL_TH[channel]), "success")
    return _back(number)


@bp.post("/tickets/<number>/note")
@security.requires("agent")
def note(number: str) -> Any:
    text = (request.form.get("text") or "").strip()
    if not text:
        flash(L.REPLY_EMPTY, "error")
        return _back(number)
    user: StaffUser = g.staff
    with write_session(services().engine) as s:
        t = _ticket_or_404(s, number)
        registry.add_message(s, t, office_id=t.office_id, direction=Direction.OUTBOUND, channel=t.channel,
                             author="staff", text=text[:MAX_REPLY * 2], actor=security.actor(), staff_id=user.id,
                             internal=True)
    flash(L.NOTE_SAVED, "success")
    return _back(number)


@bp.post("/tickets/<number>/status")
@security.requires("agent")
def status(number: str) -> Any:
    new = request.form.get("status") or ""
    with write_session(services().engine) as s:
        t = _ticket_or_404(s, number)
        old = t.status
        try:
            registry.change_status(s, t, new, actor=security.actor(), note=(request.form.get("note") or None))
        except registry.InvalidTransition:
            flash(L.STATUS_INVALID.format(old=L.STATUS_TH.get(old, old), new=L.STATUS_TH.get(new, new)), "error")
            return _back(number)
    flash(L.STATUS_CHANGED.format(status=L.STATUS_TH[new]), "success")
    return _back(number)


@bp.post("/tickets/<number>/assign")
@security.requires("agent")
def assign(number: str) -> Any:
    svc = services()
    raw = request.form.get("assignee") or ""
    with write_session(svc.engine) as s:
        t = _ticket_or_404(s, number)
        staff = None
        if raw.isdigit():
            staff = s.get(StaffUser, int(raw))
            if staff is None or staff.office_id != svc.office_id or not staff.active:
                abort(400)
        registry.assign(s, t, staff, actor=security.actor())
        name = staff.display_name if staff else None
    flash(L.ASSIGNED.format(name=name) if name else L.UNASSIGNED, "success")
    return _back(number)


@bp.post("/tickets/<number>/classify")
@security.requires("agent")
def classify(number: str) -> Any:
    form = request.form
    category = form.get("category") if form.get("category") in L.CATEGORY_TH else None
    intent = form.get("intent") if form.get("intent") in L.INTENT_TH else None
    urgency = form.get("urgency") if form.get("urgency") in L.URGENCY_TH else None
    with write_session(services().engine) as s:
        t = _ticket_or_404(s, number)
        registry.reclassify(s, t, actor=security.actor(), category=category, intent=intent, urgency=urgency)
    flash(L.RECLASSIFIED, "success")
    return _back(number)


@bp.post("/tickets/<number>/merge")
@security.requires("agent")
def merge(number: str) -> Any:
    svc = services()
    target_number = (request.form.get("target") or "").strip()
    actor = security.actor()
    with write_session(svc.engine) as s:
        t = _ticket_or_404(s, number)
        target = registry.get_by_number(s, svc.office_id, target_number)
        if target is None:
            flash(L.MERGE_NOT_FOUND.format(number=target_number[:40]), "error")
            return _back(number)
        while target.merged_into_id is not None:  # follow to the surviving ticket
            nxt = s.get(Ticket, target.merged_into_id)
            if nxt is None:
                break
            target = nxt
        if target.id == t.id:
            flash(L.MERGE_SELF, "error")
            return _back(number)
        if t.merged_into_id is not None:
            flash(L.MERGE_ALREADY, "error")
            return _back(number)
        t.merged_into_id = target.id
        for child in s.scalars(select(Ticket).where(Ticket.merged_into_id == t.id)):
            child.merged_into_id = target.id
        if t.status != TicketStatus.CLOSED.value:
            registry.change_status(s, t, TicketStatus.CLOSED, actor=actor, note=f"merged into {target.number}")
        registry.audit(s, office_id=t.office_id, ticket_id=t.id, actor=actor, action="merged",
                       details={"into": target.number})
        registry.audit(s, office_id=t.office_id, ticket_id=target.id, actor=actor, action="merged_from",
                       details={"from": t.number})
        target_no = target.number
    flash(L.MERGED.format(number=target_no), "success")
    return redirect(url_for("admin.ticket", number=target_no), code=303)


@bp.get("/attachments/<int:attachment_id>")
@security.requires("viewer")
def attachment(attachment_id: int) -> Any:
    import io

    s = db()
    a = s.get(Attachment, attachment_id)
    if a is None or a.office_id != services().office_id or a.data is None:
        abort(404)
    inline = a.content_type in INLINE_IMAGES and not a.dangerous
    response = send_file(
        io.BytesIO(a.data),
        mimetype=a.content_type if inline else "application/octet-stream",
        as_attachment=not inline,
        download_name=a.filename or f"attachment-{a.id}",
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
