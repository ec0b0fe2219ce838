"""The scheduled jobs of `helpdesk worker` (also runnable once: `helpdesk jobs run NAME`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from helpdesk.db import write_session
from helpdesk.scheduler import job
from helpdesk.services import Services
from helpdesk.thaidate import format_date
from tickets import alerts, followup, sla
from tickets.calendar import BANGKOK
from tickets.models import Office, Ticket, TicketStatus

OPEN = (TicketStatus.NEW.value, TicketStatus.OPEN.value, TicketStatus.WAITING.value)


@job("sla", every=timedelta(seconds=60))
def sla_job(services: Services, now: datetime) -> dict[str, Any]:
    with write_session(services.engine) as session:
        return sla.sweep(session, now)


@job("followups", every=timedelta(seconds=60))
def followups_job(services: Services, now: datetime) -> dict[str, Any]:
    settings = services.settings
    with write_session(services.engine) as session:
        return followup.sweep(session, now, settings.secret_key, settings.public_base_url).as_dict()


DIGEST_HEADER = "สรุปงานเช้านี้ ({date})\nเรื่องค้าง {open} เรื่อง (ด่วน {urgent}) เกินกำหนด {overdue} เรื่อง"


@job("digest", every=timedelta(minutes=5))
def digest_job(services: Services, now: datetime) -> dict[str, Any]:
    """The morning digest of open and overdue tickets, once per business day after the office opens."""
    sent = 0
    with write_session(services.engine) as session:
        for office in session.scalars(select(Office)):
            cal, _ = sla.office_rules(office.settings)
            today = now.astimezone(BANGKOK).date()
            if not cal.is_business_day(today) or not cal.is_open(now):
                continue
            base = select(func.count()).select_from(Ticket).where(Ticket.office_id == office.id,
                                                                   Ticket.status.in_(OPEN))
            n_open = session.scalar(base) or 0
            n_urgent = session.scalar(base.where(Ticket.urgency == "urgent")) or 0
            overdue_q = select(Ticket).where(
                Ticket.office_id == office.id, Ticket.status.in_(OPEN),
                Ticket.resolution_due_at < now).order_by(Ticket.resolution_due_at).limit(10)
            overdue = list(session.scalars(overdue_q))
            n_overdue = session.scalar(base.where(Ticket.resolution_due_at < now)) or 0
            lines = [DIGEST_HEADER.format(date=format_date(today), open=n_open, urgent=n_urgent, overdue=n_overdue)]
            lines += [f"• {t.number} {t.subject or '-'}" for t in overdue]
            sent += alerts.queue(session, office, key=f"digest:{office.id}:{today.isoformat()}",
                                 text="\n".join(lines), subject=f"สรุปงาน ICT {format_date(today)}",
                                 urgent=False, now=now, cal=cal)
    return {"queued": sent}
