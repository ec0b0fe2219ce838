"""Personal data of one requester under the PDPA (พ.ร.บ.คุ้มครองข้อมูลส่วนบุคคล พ.ศ. 2562): export everything
held about them, and erase it while keeping the statistics.

Erasure keeps each ticket's number, channel, category, intent, urgency, status, times, school and the
rating scores (the statistics), and removes everything that identifies or was written by the person:
the requester's identifiers and name, subjects, message texts (theirs and the replies, which quote them),
attachments, raw inbound events, outbox payloads and addresses, follow-up links and rating comments.
Other packages that keep per-requester rows add a table to EXTRA_TABLES. Both operations are audited.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import MetaData, Table, delete, inspect, or_, select, update
from sqlalchemy.orm import Session

from admin import labels as L
from admin.sqlfn import bytes_contains
from tickets.models import (
    Attachment,
    AuditLog,
    FollowUp,
    InboundEvent,
    Message,
    OutboxMessage,
    Rating,
    Requester,
    School,
    Ticket,
    utcnow,
)
from tickets.registry import audit

# Per-requester rows other packages keep: (table, column, what the column holds). Rows are deleted on
# erasure when the table exists: "requester" = the requester id, "ticket" = one of their tickets,
# "address" = their e-mail address or LINE user id.
EXTRA_TABLES: list[tuple[str, str, str]] = [
    ("line_conversation", "requester_id", "requester"),
    ("email_participant", "ticket_id", "ticket"),
    ("email_auto_reply", "ticket_id", "ticket"),
    ("email_auto_reply", "address", "address"),
]


def find_requesters(session: Session, office_id: int, query: str, limit: int = 30) -> list[Requester]:
    """Requesters matching a ticket number, LINE user id, e-mail address or part of the name."""
    from tickets.registry import find_ticket_numbers

    query = query.strip()[:200]
    if not query:
        return []
    numbers = find_ticket_numbers(query)
    if numbers:
        return list(session.scalars(
            select(Requester).join(Ticket, Ticket.requester_id == Requester.id)
            .where(Ticket.office_id == office_id, Ticket.number.in_(numbers)).distinct()))
    r = Requester
    return list(session.scalars(
        select(r).where(r.office_id == office_id, or_(
            r.line_user_id == query, r.web_id == query, r.email == query.lower(),
            r.display_name.icontains(query, autoescape=True), r.email.icontains(query, autoescape=True),
        )).order_by(r.id.desc()).limit(limit)))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_data(session: Session, requester: Requester) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """Everything held about the requester, and their attachments as (path in the archive, bytes)."""
    school = session.get(School, requester.school_id) if requester.school_id else None
    tickets = session.scalars(select(Ticket).where(Ticket.requester_id == requester.id).order_by(Ticket.id)).all()
    ticket_ids = [t.id for t in tickets]
    messages = session.scalars(
        select(Message).where(or_(Message.requester_id == requester.id, Message.ticket_id.in_(ticket_ids)))
        .order_by(Message.created_at, Message.id)).all()
    files: list[tuple[str, bytes]] = []
    msg_out = []
    for m in messages:
        atts = []
        for a in m.attachments:
            entry: dict[str, Any] = {"id": a.id, "filename": a.filename, "content_type": a.content_type,
                                     "size": a.size, "sha256": a.sha256, "skipped_reason": a.skipped_reason}
            if a.data is not None:
                path = f"attachments/{a.id}-{_safe_name(a.filename)}"
                entry["file"] = path
                files.append((path, a.data))
            atts.append(entry)
        msg_out.append({
            "id": m.id, "ticket_id": m.ticket_id, "direction": m.direction, "channel": m.channel,
            "author": m.author, "internal": m.internal, "text": m.text, "created_at": _iso(m.created_at),
            "delivery_state": m.delivery_state, "attachments": atts,
        })
    ratings = session.scalars(select(Rating).where(Rating.ticket_id.in_(ticket_ids))).all() if ticket_ids else []
    followups = session.scalars(select(FollowUp).where(FollowUp.ticket_id.in_(ticket_ids))).all() if ticket_ids else []
    data = {
        "exported_at": utcnow().isoformat(),
        "requester": {
            "id": requester.id, "line_user_id": requester.line_user_id, "email": requester.email,
            "web_id": requester.web_id, "display_name": requester.display_name,
            "school": school.name if school else None, "school_text": requester.school_text,
            "consent_at": _iso(requester.consent_at), "following": requester.following,
            "created_at": _iso(requester.created_at), "erased_at": _iso(requester.erased_at),
        },
        "tickets": [{
            "number": t.number, "channel": t.channel, "subject": t.subject, "category": t.category,
            "intent": t.intent, "urgency": t.urgency, "status": t.status, "received_at": _iso(t.received_at),
            "first_response_at": _iso(t.first_response_at), "resolved_at": _iso(t.resolved_at),
            "closed_at": _iso(t.closed_at),
        } for t in tickets],
        "messages": msg_out,
        "ratings": [{"ticket_id": r.ticket_id, "solved": r.solved, "understood": r.understood, "score": r.score,
                     "comment": r.comment, "created_at": _iso(r.created_at)} for r in ratings],
        "follow_ups": [{"ticket_id": f.ticket_id, "status": f.status, "due_at": _iso(f.due_at),
                        "sent_at": _iso(f.sent_at), "answered_at": _iso(f.answered_at)} for f in followups],
    }
    return data, files


def _safe_name(name: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)[:80]
    return keep or "file"


def export_zip(session: Session, requester: Requester, actor: str) -> bytes:
    """A ZIP with data.json and the attachments; the export is audited."""
    data, files = export_data(session, requester)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=1))
        zf.writestr("README.txt", "ข้อมูลส่วนบุคคลที่ระบบรับเรื่องของกลุ่ม ICT จัดเก็บไว้ (data.json) "
                                  "และไฟล์แนบ (attachments/)\n")
        for path, content in files:
            zf.writestr(path, content)
    audit(session, office_id=requester.office_id, actor=actor, action="pdpa_export",
          details={"requester_id": requester.id, "tickets": len(data["tickets"]), "messages": len(data["messages"])})
    return buf.getvalue()


@dataclass(frozen=True)
class EraseReport:
    tickets: int
    messages: int
    attachments: int
    events: int
    outbox: int


def erase(session: Session, requester: Requester, actor: str) -> EraseReport:
    """Anonymise the requester and everything they wrote; statistics stay. Idempotent."""
    now = utcnow()
    ticket_ids = list(session.scalars(select(Ticket.id).where(Ticket.requester_id == requester.id)))
    msg_filter = or_(Message.requester_id == requester.id, Message.ticket_id.in_(ticket_ids)) if ticket_ids \
        else Message.requester_id == requester.id
    message_ids = list(session.scalars(select(Message.id).where(msg_filter)))
    event_ids = {e for e in session.scalars(select(Message.inbound_event_id).where(
        msg_filter, Message.inbound_event_id.is_not(None)))}
    needles = [v.encode() for v in (requester.line_user_id, requester.email, requester.web_id) if v and len(v) >= 6]
    for needle in needles:  # raw events that mention the person but made no message (follow, postback...)
        event_ids.update(session.scalars(select(InboundEvent.id).where(
            InboundEvent.office_id == requester.office_id, bytes_contains(InboundEvent.payload, needle))))
    recipients = [v for v in (requester.line_user_id, requester.email) if v]

    if ticket_ids:
        session.execute(update(Ticket).where(Ticket.id.in_(ticket_ids)).values(subject=L.ERASED_TEXT[:300]))
    n_att = 0
    if message_ids:
        session.execute(update(Message).where(Message.id.in_(message_ids))
                        .values(text=L.ERASED_TEXT, meta={}, channel_message_id=None))
        n_att = session.execute(update(Attachment).where(Attachment.message_id.in_(message_ids)).values(
            data=None, filename="erased", sha256=None, skipped_reason="erased (PDPA)")).rowcount or 0
    if event_ids:
        session.execute(update(InboundEvent).where(InboundEvent.id.in_(event_ids))
                        .values(payload=b"", meta={}, last_error=None))
    out_cond = [OutboxMessage.recipient.in_(recipients)] if recipients else []
    if ticket_ids:
        out_cond.append(OutboxMessage.ticket_id.in_(ticket_ids))
    n_out = 0
    if out_cond:
        n_out = session.execute(update(OutboxMessage).where(or_(*out_cond))
                                .values(recipient="erased", payload={}, last_error=None)).rowcount or 0
    if ticket_ids:
        session.execute(update(Rating).where(Rating.ticket_id.in_(ticket_ids)).values(comment=None))
        session.execute(update(FollowUp).where(FollowUp.ticket_id.in_(ticket_ids)).values(token_hash=None))
    conn = session.connection()  # the session's own connection: no second connection while writing
    existing = set(inspect(conn).get_table_names())
    addresses = [v for v in (requester.email, requester.line_user_id) if v]
    for table_name, column, kind in EXTRA_TABLES:
        if table_name not in existing:
            continue
        table = Table(table_name, MetaData(), autoload_with=conn)
        if kind == "requester":
            session.execute(delete(table).where(table.c[column] == requester.id))
        elif kind == "ticket" and ticket_ids:
            session.execute(delete(table).where(table.c[column].in_(ticket_ids)))
        elif kind == "address" and addresses:
            session.execute(delete(table).where(table.c[column].in_(addresses)))
    requester.line_user_id = None
    requester.email = None
    requester.web_id = None
    requester.display_name = None
    requester.school_text = None
    requester.consent_at = None
    requester.loose_media_at = None
    requester.following = False
    requester.erased_at = requester.erased_at or now
    report = EraseReport(len(ticket_ids), len(message_ids), int(n_att), len(event_ids), int(n_out))
    audit(session, office_id=requester.office_id, actor=actor, action="pdpa_erase",
          details={"requester_id": requester.id, **report.__dict__})
    for ticket_id in ticket_ids:
        session.add(AuditLog(office_id=requester.office_id, ticket_id=ticket_id, actor=actor, action="pdpa_erase",
                             details={"requester_id": requester.id}, created_at=now))
    session.flush()
    return report

