"""One pipeline for every channel: understand, answer, record, reply.

Channels translate their input into an `Inquiry` and deliver the returned `Reply`; nothing here knows
about LINE or e-mail. The function runs inside the caller's transaction (the one that also marks the
inbound event done), so a crash leaves nothing half-recorded and a retry does the whole step again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import messages_th as M
from helpdesk.thaidate import format_datetime
from tickets import registry
from tickets.models import Direction, Ticket, TicketStatus, utcnow

if TYPE_CHECKING:
    from knowledge.articles import Article
    from knowledge.engine import Answer

log = logging.getLogger(__name__)

# Consecutive chat messages within this window continue the same ticket (people split one report
# over several LINE messages) unless they are clearly about another topic.
CONTINUATION_WINDOW = timedelta(minutes=15)
# Thanks or a greeting within this window belong to the latest ticket instead of opening a new one.
SMALLTALK_WINDOW = timedelta(hours=24)
FOLLOWUP_WINDOW = timedelta(days=60)
MAX_TEXT = 20_000


class AnswerEngine(Protocol):
    def answer(self, text: str, subject: str | None = None) -> Answer: ...


@dataclass(frozen=True)
class Inquiry:
    office_id: int
    channel: str
    requester_id: int
    text: str
    subject: str | None = None
    received_at: datetime | None = None
    channel_message_id: str | None = None
    inbound_event_id: int | None = None
    thread_ticket_id: int | None = None  # the channel already knows the ticket (e-mail reply, postback)
    formal: bool = False
    continue_recent: bool = True  # chat channels: a message minutes after a report continues it
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reply:
    text: str
    kind: str
    ticket: Ticket | None
    new_ticket: bool
    handoff: bool
    answer: Answer | None = None
    inbound_message_id: int | None = None
    outbound_message_id: int | None = None

    @property
    def ticket_number(self) -> str | None:
        return self.ticket.number if self.ticket is not None else None

    @property
    def article(self) -> Article | None:
        return self.answer.article if self.answer is not None else None

    @property
    def alternatives(self) -> list[Article]:
        return list(self.answer.alternatives) if self.answer is not None else []


def _requester_ticket(session: Session, office_id: int, requester_id: int, number: str) -> Ticket | None:
    ticket = registry.get_by_number(session, office_id, number)
    if ticket is None or ticket.requester_id != requester_id:
        return None
    return ticket


def _status_text(ticket: Ticket) -> str:
    return M.TICKET_STATUS.format(
        number=ticket.number,
        status=M.STATUS_TH.get(ticket.status, ticket.status),
        subject=ticket.subject or "-",
        created=format_datetime(ticket.created_at),
    )


def handle_inquiry(session: Session, inquiry: Inquiry, engine: AnswerEngine, *, actor: str | None = None) -> Reply:
    """Run one inquiry through the pipeline and record everything. The caller delivers `Reply.text`."""
    actor = actor or f"requester:{inquiry.requester_id}"
    text = (inquiry.text or "")[:MAX_TEXT]
    now = utcnow()
    try:
        answer = engine.answer(text, subject=inquiry.subject)
    except Exception:  # the engine must never lose an inquiry: register it for a person instead
        log.exception("knowledge engine failed; handing the inquiry to staff")
        answer = None

    u = answer.understanding if answer is not None else None
    kind = answer.kind if answer is not None else "handoff"
    handoff = answer.handoff if answer is not None else True
    classification = registry.Classification(
        category=u.category if u else None,
        intent=u.intent if u else None,
        urgency=u.urgency if u else "normal",
        confidence=u.category_confidence if u else None,
    )

    ticket: Ticket | None = None
    new_ticket = False
    reply_lines: list[str] = []

    # 1. Which ticket does this belong to?
    if inquiry.thread_ticket_id is not None:
        ticket = session.get(Ticket, inquiry.thread_ticket_id)
    elif u is not None and u.ticket_numbers and u.intent in ("followup", "feedback", "greeting"):
        ticket = _requester_ticket(session, inquiry.office_id, inquiry.requester_id, u.ticket_numbers[0])
        if ticket is None:
            reply_lines.append(M.TICKET_NOT_FOUND.format(number=u.ticket_numbers[0]))
            kind, handoff = "not_found", False
        else:
            reply_lines.append(_status_text(ticket))
            kind = "status"
    elif kind in ("greeting", "feedback") or (u is not None and u.intent in ("greeting", "feedback")):
        ticket = registry.latest_ticket(session, inquiry.requester_id, since=now - SMALLTALK_WINDOW)
    elif u is not None and u.intent == "followup":
        ticket = registry.latest_open_ticket(session, inquiry.requester_id, since=now - FOLLOWUP_WINDOW)
        if ticket is not None:
            reply_lines.append(_status_text(ticket))
            kind = "status"
    elif inquiry.continue_recent:
        recent = registry.latest_open_ticket(session, inquiry.requester_id, since=now - CONTINUATION_WINDOW)
        if recent is not None and recent.handoff and (
            u is None or recent.category == u.category or u.category_confidence < 0.5
        ):
            ticket = recent

    if ticket is None and kind not in ("greeting", "feedback", "not_found", "status") and text.strip():
        status = TicketStatus.NEW if handoff else TicketStatus.RESOLVED
        ticket = registry.open_ticket(
            session,
            office_id=inquiry.office_id,
            channel=inquiry.channel,
            actor=actor,
            requester_id=inquiry.requester_id,
            subject=inquiry.subject or _subject_from(text),
            classification=classification,
            received_at=inquiry.received_at or now,
            formal=inquiry.formal,
            status=status,
            handoff=handoff,
            article_id=answer.article.id if answer is not None and answer.article is not None else None,
            self_served=status == TicketStatus.RESOLVED,
            note="answered by the bot",
        )
        new_ticket = True
    elif ticket is not None and handoff and kind not in ("status", "not_found"):
        # More information on a ticket a person already has, or a new problem on a ticket the bot closed.
        ticket.handoff = True
        if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            registry.reopen(session, ticket, actor=actor, reason="the requester wrote again")
        elif ticket.status == TicketStatus.WAITING:
            registry.change_status(session, ticket, TicketStatus.OPEN, actor=actor, note="the requester answered")
        if classification.urgency == "urgent" and ticket.urgency != "urgent":
            registry.reclassify(session, ticket, actor="bot", urgency="urgent")

    # 2. Compose the reply.
    if not text.strip():
        reply_lines = [M.EMPTY_MESSAGE]
    elif kind not in ("status", "not_found"):
        if answer is not None and answer.text:
            reply_lines.append(answer.text)
        elif answer is None:
            reply_lines.append(M.ENGINE_UNAVAILABLE)
        if ticket is not None:
            if new_ticket and handoff:
                template = M.TICKET_HANDOFF_URGENT if ticket.urgency == "urgent" else M.TICKET_HANDOFF
                reply_lines.append(template.format(number=ticket.number))
            elif new_ticket:
                reply_lines.append(M.TICKET_ANSWERED.format(number=ticket.number))
            elif kind not in ("greeting", "feedback"):
                reply_lines.append(M.TICKET_THREADED.format(number=ticket.number))
    reply_text = "\n\n".join(line for line in reply_lines if line)

    # 3. Record both messages (one INSERT for the two) and their audit lines.
    inbound = registry.new_message(
        session,
        ticket,
        office_id=inquiry.office_id,
        direction=Direction.INBOUND,
        channel=inquiry.channel,
        author="requester",
        text=text,
        requester_id=inquiry.requester_id,
        channel_message_id=inquiry.channel_message_id,
        inbound_event_id=inquiry.inbound_event_id,
        meta={k: v for k, v in {"subject": inquiry.subject, **inquiry.meta}.items() if v is not None},
    )

    outbound = registry.new_message(
        session,
        ticket,
        office_id=inquiry.office_id,
        direction=Direction.OUTBOUND,
        channel=inquiry.channel,
        author="bot",
        text=reply_text,
        requester_id=inquiry.requester_id,
        meta={"kind": kind, "article_id": answer.article.id if answer is not None and answer.article else None,
              "alternatives": [a.id for a in answer.alternatives] if answer is not None else []},
        delivery_state="pending",
    )
    session.flush()
    registry.audit_message(session, ticket, inbound, actor=actor)
    registry.audit_message(session, ticket, outbound, actor="bot")
    return Reply(
        text=reply_text,
        kind=kind,
        ticket=ticket,
        new_ticket=new_ticket,
        handoff=handoff,
        answer=answer,
        inbound_message_id=inbound.id,
        outbound_message_id=outbound.id,
    )


def _subject_from(text: str, limit: int = 120) -> str:
    first = " ".join(text.split())
    return first if len(first) <= limit else first[: limit - 1] + "…"


def open_tickets_text(session: Session, requester_id: int, limit: int = 10) -> str:
    """The requester's own open tickets, for the `สถานะ` command."""
    tickets = list(
        session.scalars(
            select(Ticket)
            .where(Ticket.requester_id == requester_id, Ticket.status.in_(registry.OPEN_STATUSES))
            .order_by(Ticket.created_at.desc())
            .limit(limit)
        )
    )
    if not tickets:
        return M.NO_OPEN_TICKETS
    lines = [M.OPEN_TICKETS_HEADER]
    for t in tickets:
        lines.append(f"• {t.number} {M.STATUS_TH.get(t.status, t.status)} — {t.subject or '-'}")
    return "\n".join(lines)
