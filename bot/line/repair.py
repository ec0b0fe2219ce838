"""The repair report (แบบแจ้งซ่อมออนไลน์): one function that registers it, shared by the guided LINE chat
and the /repair page, so both create the same ticket."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot.line import messages_th as T
from tickets import registry
from tickets.models import Attachment, Direction, Message, Ticket, TicketStatus

log = logging.getLogger(__name__)

EQUIPMENT_CATEGORY = {
    "อุปกรณ์ DLTV": "dltv_satellite",
    "อินเทอร์เน็ต/Wi-Fi": "network_internet",
}
REPAIR_CATEGORIES = ("hardware_repair", "network_internet", "dltv_satellite")
_NOT_URGENT = re.compile("|".join(re.escape(w) for w in T.NOT_URGENT_WORDS))
_URGENT = re.compile("|".join(re.escape(w) for w in T.URGENT_WORDS))


@dataclass(frozen=True)
class RepairReport:
    equipment: str
    symptom: str
    place: str = ""
    school: str = ""
    name: str = ""
    phone: str = ""
    urgent_flag: bool = False  # ticked on the form

    def text(self) -> str:
        body = T.REPAIR_BODY.format(equipment=self.equipment, symptom=self.symptom, place=self.place or "-")
        if self.school:
            body += T.REPAIR_BODY_SCHOOL.format(school=self.school)
        if self.name or self.phone:
            body += T.REPAIR_BODY_CONTACT.format(name=self.name or "-", phone=self.phone or "-")
        return body

    def subject(self) -> str:
        symptom = " ".join(self.symptom.split())
        return T.REPAIR_SUBJECT.format(equipment=self.equipment, symptom=symptom[:120])


def says_urgent(text: str) -> bool:
    cleaned = _NOT_URGENT.sub(" ", text)
    return bool(_URGENT.search(cleaned))


def classify(report: RepairReport, engine: Any | None) -> registry.Classification:
    """Category from the chosen equipment, else from the engine when it names a repair-like category."""
    text = f"{report.equipment} {report.symptom} {report.place}"
    category = EQUIPMENT_CATEGORY.get(report.equipment)
    urgent = report.urgent_flag or says_urgent(text)
    confidence = None
    if engine is not None:
        try:
            u = engine.understand(f"{report.equipment} {report.symptom}")
            if category is None and u.category in REPAIR_CATEGORIES and u.category_confidence >= 0.4:
                category = u.category
            confidence = u.category_confidence
            if not urgent and u.urgency == "urgent" and not _NOT_URGENT.search(text):
                urgent = True
        except Exception:  # the report is registered whatever the engine does
            log.exception("knowledge engine failed on a repair report")
    return registry.Classification(category=category or "hardware_repair", intent="incident",
                                   urgency="urgent" if urgent else "normal", confidence=confidence)


def create_repair_ticket(
    session: Session,
    *,
    office_id: int,
    requester_id: int,
    channel: str,
    report: RepairReport,
    engine: Any | None,
    actor: str,
    channel_message_id: str | None = None,
    inbound_event_id: int | None = None,
    photo: tuple[bytes, str, str] | None = None,  # (data, content type, filename)
) -> tuple[Ticket, Message]:
    """Register a repair report as a ticket for staff (hand-off), with the report as its first message."""
    classification = classify(report, engine)
    ticket = registry.open_ticket(session, office_id=office_id, channel=channel, actor=actor,
                                  requester_id=requester_id, subject=report.subject(),
                                  classification=classification, status=TicketStatus.NEW)
    ticket.handoff = True
    message = registry.add_message(
        session, ticket, office_id=office_id, direction=Direction.INBOUND, channel=channel, author="requester",
        text=report.text(), actor=actor, requester_id=requester_id, channel_message_id=channel_message_id,
        inbound_event_id=inbound_event_id, meta={"repair": asdict(report)},
    )
    if photo is not None:
        data, content_type, filename = photo
        session.add(Attachment(office_id=office_id, message_id=message.id, filename=filename[:255],
                               content_type=content_type[:120], size=len(data),
                               sha256=hashlib.sha256(data).hexdigest(), data=data))
        session.flush()
    return ticket, message
