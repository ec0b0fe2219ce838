"""Staff alerts: a new urgent ticket, an SLA about to breach, a breach, a requester's "not solved",
and the morning digest. Sent through the outbox to the office's staff destinations
(Office.settings["alerts"] = {"line_to": [LINE user or group ids], "email_to": [addresses]}).

One alert per ticket per state (the outbox dedupe key), quiet outside office hours except urgent ones
(they wait in the outbox until the office opens), and a cap per sweep so a backlog never floods the
staff's phones: the rest is summarised in one message.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.outbox import enqueue
from helpdesk.thaidate import format_datetime
from tickets.calendar import BusinessCalendar
from tickets.models import Office, OutboxMessage, Ticket

MAX_ALERTS_PER_SWEEP = 20

TEMPLATES = {
    "urgent_new": "🔴 เรื่องด่วนใหม่ {number}\n{subject}\nหมวด: {category}\nรับเมื่อ {received}",
    "at_risk": "⏰ ใกล้ครบกำหนด ({target}) {number}\n{subject}\nกำหนด {due}",
    "breached": "⚠️ เกินกำหนด ({target}) {number}\n{subject}\nกำหนด {due}",
    "not_solved": "↩️ ผู้แจ้งตอบว่ายังแก้ไม่ได้ {number} เปิดเรื่องใหม่แล้ว\n{subject}",
    "summary": "มีการแจ้งเตือนอีก {count} รายการ ดูรายละเอียดในหน้าคิวงาน",
}
TARGET_TH = {
    "registration": "ลงทะเบียน",
    "first_response": "ตอบครั้งแรก",
    "resolution": "แก้ไขเสร็จ",
    "followup": "ติดตามผล",
}


def destinations(office: Office) -> list[tuple[str, str]]:
    conf = (office.settings or {}).get("alerts") or {}
    out = [("line", str(r)) for r in conf.get("line_to", []) if r]
    out += [("email", str(r)) for r in conf.get("email_to", []) if r]
    return out


def queue(
    session: Session,
    office: Office,
    *,
    key: str,
    text: str,
    subject: str,
    urgent: bool,
    now: datetime,
    cal: BusinessCalendar,
    ticket_id: int | None = None,
) -> int:
    """Queue one alert to every staff destination; returns how many outbox rows were new."""
    created = 0
    for channel, recipient in destinations(office):
        dedupe_key = f"alert:{key}:{channel}:{recipient}"
        if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)) is not None:
            continue
        item = enqueue(
            session,
            office_id=office.id,
            channel=channel,
            recipient=recipient,
            payload={"type": "text", "text": text, "subject": subject, "alert": key},
            dedupe_key=dedupe_key,
            ticket_id=ticket_id,
        )
        if not urgent and not cal.is_open(now):
            item.next_attempt_at = cal.next_open(now)
        created += 1
    return created


def ticket_alert(
    session: Session,
    office: Office,
    ticket: Ticket,
    kind: str,
    *,
    now: datetime,
    cal: BusinessCalendar,
    target: str | None = None,
    due: datetime | None = None,
) -> int:
    text = TEMPLATES[kind].format(
        number=ticket.number,
        subject=ticket.subject or "-",
        category=ticket.category or "-",
        received=format_datetime(ticket.received_at),
        target=TARGET_TH.get(target or "", target or ""),
        due=format_datetime(due) if due else "-",
    )
    key = f"{kind}:{ticket.id}" + (f":{target}" if target else "")
    urgent = kind in ("urgent_new", "not_solved") or ticket.urgency == "urgent"
    return queue(session, office, key=key, text=text, subject=f"[{ticket.number}] {text.splitlines()[0]}",
                 urgent=urgent, now=now, cal=cal, ticket_id=ticket.id)
