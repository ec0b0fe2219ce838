"""E-mail intake: store raw bytes first, then (idempotently, in the event's transaction) parse, thread,
run the pipeline, keep attachments, and queue the reply through the outbox.

`store_raw` is what `helpdesk email ingest` and the IMAP poller call; `handle_email_event` is the inbox
handler registered for source "email". Everything after storing is repeatable: the handler runs inside
the transaction that marks the event done, so a crash rolls it all back and the retry starts over.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot import outbox
from bot.email import compose, loops
from bot.email import messages_th as M
from bot.email.config import EmailConfig, email_config
from bot.email.models import EmailAutoReply
from bot.email.parse import ParsedMessage, parse_message, source_id_for
from bot.email.threading import (
    OUR_ID_IN_TEXT,
    ThreadDecision,
    add_participant,
    make_message_id,
    resolve_thread,
    ticket_id_from_reference,
)
from bot.inbox import StoredEvent, store_event
from bot.pipeline import AnswerEngine, Inquiry, Reply, handle_inquiry
from helpdesk.db import write_session
from helpdesk.services import Services
from helpdesk.thaidate import BANGKOK
from tickets import registry
from tickets.directory import requester_for_email
from tickets.models import (
    Attachment,
    Channel,
    Direction,
    InboundEvent,
    Message,
    OutboxMessage,
    Requester,
    Ticket,
    utcnow,
)

log = logging.getLogger(__name__)

SOURCE = "email"
_FORMAL = re.compile(r"(?:^|\n)\s*เรียน\s|จึงเรียนมา|ขอแสดงความนับถือ|ด้วยความเคารพ|หนังสือราชการ|ที่ ศธ\s?\d")
MAX_META_TEXT = 20_000


# ------------------------------------------------------------------------------------------ storing

def store_in(session: Session, office_id: int, raw: bytes, meta: dict[str, Any] | None = None) -> StoredEvent:
    """Store one raw message in the inbox within the caller's transaction (deduped by Message-ID or hash)."""
    return store_event(session, office_id=office_id, source=SOURCE, source_id=source_id_for(raw), payload=raw,
                       meta={"size": len(raw), **(meta or {})})


def store_raw(services: Services, raw: bytes, meta: dict[str, Any] | None = None) -> StoredEvent:
    with write_session(services.engine) as session:
        return store_in(session, services.office_id, raw, meta)


# ------------------------------------------------------------------------------------------ handling

def _received_at(event: InboundEvent) -> datetime:
    when = event.received_at
    raw = (event.meta or {}).get("internaldate")
    if raw:
        try:
            arrived = datetime.fromisoformat(raw)
            if arrived.tzinfo is not None and arrived < when:
                when = arrived
        except ValueError:
            pass
    return when


def _message_meta(msg: ParsedMessage, *, verdict: loops.Verdict | None = None,
                  decision: ThreadDecision | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "from": str(msg.sender) if msg.sender else None,
        "to": [str(a) for a in msg.to][:20],
        "cc": [str(a) for a in msg.cc][:20],
        "message_id": msg.message_id,
        "in_reply_to": msg.in_reply_to[:5],
        "references": msg.references[-10:],
        "date": msg.date.isoformat() if msg.date else None,
        "html_only": msg.html_only or None,
        "notes": msg.notes or None,
        "quoted": msg.quoted[:MAX_META_TEXT] or None,
        "signature": msg.signature[:2000] or None,
        "forwarded": [{"from": f.sender, "subject": f.subject, "date": f.date} for f in msg.forwarded] or None,
        "attachments": [{"filename": a.filename, "size": a.size, "skipped": a.skipped_reason,
                         "danger": a.danger_reason} for a in msg.attachments] or None,
        "size": msg.size,
    }
    if verdict is not None and verdict.reasons:
        meta["no_auto_reply"] = list(verdict.reasons)
    if verdict is not None and verdict.noise:
        meta["noise"] = verdict.noise
    if decision is not None:
        meta["threaded_by"] = decision.how
    return {k: v for k, v in meta.items() if v is not None}


def _store_attachments(session: Session, cfg: EmailConfig, office_id: int, message_id: int,
                       msg: ParsedMessage) -> None:
    limit = f"{cfg.max_attachment_mb:g}"
    for att in msg.attachments:
        reason = M.SKIPPED_REASON.get(att.skipped_reason or "", "").format(limit=limit) or None
        session.add(Attachment(
            office_id=office_id,
            message_id=message_id,
            filename=att.filename[:255],
            content_type=att.content_type[:120],
            size=att.size,
            sha256=att.sha256,
            data=att.data,
            skipped_reason=reason[:200] if reason else None,
            dangerous=att.dangerous,
            created_at=utcnow(),
        ))
    if msg.attachments:
        session.flush()


def claim_auto_reply(session: Session, office_id: int, ticket_id: int | None, address: str,
                     now: datetime | None = None) -> bool:
    """Take today's automatic reply for (sender, ticket); False when one was already sent today."""
    day = (now or utcnow()).astimezone(BANGKOK).date().isoformat()
    insert_fn = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = session.execute(
        insert_fn(EmailAutoReply)
        .values(office_id=office_id, scope=f"ticket:{ticket_id}" if ticket_id else "none", ticket_id=ticket_id,
                address=address[:320], day=day, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["office_id", "scope", "address", "day"])
        .returning(EmailAutoReply.id)
    )
    return result.scalar_one_or_none() is not None


def enqueue_mail(
    session: Session,
    cfg: EmailConfig,
    *,
    office_id: int,
    ticket: Ticket | None,
    message_id: int | None,
    to: str,
    to_name: str | None,
    subject: str,
    text: str,
    in_reply_to: str | None,
    references: list[str],
    automatic: bool,
    kind: str,
    dedupe_key: str,
) -> OutboxMessage:
    """Queue one e-mail in the outbox (same transaction as the change it reports); the outbound Message
    row, when given, gets the Message-ID so that replies to it thread."""
    our_id = make_message_id(cfg.thread_key, cfg.office_code, ticket.id if ticket else None, cfg.domain)
    payload = compose.build_payload(cfg=cfg, to=to, to_name=to_name, subject=subject, text=text,
                                    message_id=our_id, in_reply_to=in_reply_to, references=references,
                                    automatic=automatic, kind=kind)
    item = outbox.enqueue(session, office_id=office_id, channel=Channel.EMAIL.value, recipient=to, payload=payload,
                          dedupe_key=dedupe_key, ticket_id=ticket.id if ticket else None, message_id=message_id)
    if message_id is not None:
        session.execute(update(Message).where(Message.id == message_id).values(
            channel_message_id=str(item.payload.get("message_id"))[:255], delivery_state="pending",
            **({"ticket_id": ticket.id} if ticket is not None else {})))
    return item


def _citation(reply: Reply) -> str | None:
    if reply.answer is None or reply.kind != "answer" or reply.article is None:
        return None
    try:
        return reply.article.citation_th()
    except Exception:
        return None


def handle_email_event(services: Services, session: Session, event: InboundEvent,
                       engine: AnswerEngine | None = None) -> None:
    """The inbox handler for source "email"."""
    cfg = email_config(services.settings)
    msg = parse_message(event.payload, cfg.limits)
    if msg.size > 1024 * 1024:  # the raw bytes stay in the database; do not hold them through the pipeline
        session.expire(event, ["payload"])
    verdict = loops.assess(msg, cfg.own_addresses, cfg.office_code)
    received_at = _received_at(event)

    if verdict.noise == "bounce":
        _handle_bounce(session, cfg, event, msg, verdict)
        return
    sender = msg.sender.addr if msg.sender else None
    if verdict.noise == "own_address" or sender is None:
        message = registry.add_message(
            session, None, office_id=event.office_id, direction=Direction.INBOUND, channel=Channel.EMAIL,
            author="system", text=msg.understanding_text(), actor="system",
            channel_message_id=msg.message_id, inbound_event_id=event.id,
            meta=_message_meta(msg, verdict=verdict))
        _store_attachments(session, cfg, event.office_id, message.id, msg)
        log.info("email %s: not registered (%s)", event.id, ", ".join(verdict.reasons) or "no sender")
        return

    requester = requester_for_email(session, event.office_id, sender)
    if msg.sender and msg.sender.name and not requester.display_name:
        requester.display_name = msg.sender.name[:200]
    decision = resolve_thread(session, office_id=event.office_id, office_code=cfg.office_code, key=cfg.thread_key,
                              msg=msg, requester_id=requester.id, sender=sender)
    meta = _message_meta(msg, verdict=verdict, decision=decision)

    if verdict.noise:  # automatic mail (out-of-office, lists, no-reply senders): kept, never answered
        ticket = session.get(Ticket, decision.ticket_id) if decision.ticket_id else None
        message = registry.add_message(
            session, ticket, office_id=event.office_id, direction=Direction.INBOUND, channel=Channel.EMAIL,
            author="requester", text=msg.understanding_text(), actor=f"requester:{requester.id}",
            requester_id=requester.id, channel_message_id=msg.message_id, inbound_event_id=event.id, meta=meta)
        _store_attachments(session, cfg, event.office_id, message.id, msg)
        return

    subject = compose.subject_without_number(msg.subject) or None
    inquiry = Inquiry(
        office_id=event.office_id,
        channel=Channel.EMAIL.value,
        requester_id=requester.id,
        text=msg.understanding_text(),
        subject=subject,
        received_at=received_at,
        channel_message_id=(msg.message_id or event.source_id)[:255],
        inbound_event_id=event.id,
        thread_ticket_id=decision.ticket_id,
        continue_recent=False,  # a separate e-mail is a separate request unless it threads
        formal=bool(_FORMAL.search(msg.new_text + "\n" + msg.signature)),
        meta=meta,
    )
    reply = handle_inquiry(session, inquiry, engine or services.knowledge())
    ticket = reply.ticket
    if ticket is None and decision.link_ticket_id is not None:
        ticket = _open_for_stranger(session, inquiry, reply)
    linked = session.get(Ticket, decision.link_ticket_id) if decision.link_ticket_id else None
    if linked is not None and ticket is not None and ticket.id != linked.id:
        for a, b in ((ticket, linked), (linked, ticket)):
            registry.audit(session, office_id=a.office_id, ticket_id=a.id, actor="system", action="linked",
                           details={"ticket": b.number, "reason": "subject number from a non-participant",
                                    "sender": sender})

    if ticket is not None:
        if decision.add_sender_as_participant:
            add_participant(session, ticket, sender, "replier")
        if ticket.requester_id == requester.id or reply.new_ticket:
            for addr in [*msg.to, *msg.cc]:
                if addr.addr not in cfg.own_addresses and addr.addr != sender:
                    add_participant(session, ticket, addr.addr, "cc")

    # The pipeline's Message rows are referenced by id (they may have left the identity map): update in SQL.
    stranger_ticket = ticket is not None and reply.ticket is None
    if reply.inbound_message_id is not None:
        if stranger_ticket:
            session.execute(update(Message).where(Message.id == reply.inbound_message_id).values(ticket_id=ticket.id))
        _store_attachments(session, cfg, event.office_id, reply.inbound_message_id, msg)
    if reply.outbound_message_id is None:
        return
    why_not = list(verdict.reasons)
    courtesy = (reply.kind in ("greeting", "feedback") and not reply.handoff and decision.ticket_id is not None)
    if courtesy:
        why_not.append("courtesy")
    if not why_not and not claim_auto_reply(session, event.office_id, ticket.id if ticket else None, sender):
        why_not.append("daily_limit")
    if why_not:
        outbound = session.get(Message, reply.outbound_message_id)
        if outbound is not None:
            outbound.delivery_state = "suppressed"
            outbound.meta = {**(outbound.meta or {}), "suppressed": why_not}
            if stranger_ticket:
                outbound.ticket_id = ticket.id
        return
    text = compose.reply_body(
        cfg=cfg, body=reply.text, number=ticket.number if ticket else None,
        requester_name=requester.display_name, received_at=received_at if reply.new_ticket else None,
        citation=_citation(reply), attachments=msg.attachments,
        linked_number=linked.number if linked is not None and ticket is not None and ticket.id != linked.id else None,
    )
    enqueue_mail(
        session, cfg, office_id=event.office_id, ticket=ticket, message_id=reply.outbound_message_id, to=sender,
        to_name=requester.display_name,
        subject=compose.reply_subject(msg.subject or (ticket.subject if ticket else None),
                                      ticket.number if ticket else None),
        text=text, in_reply_to=msg.message_id, references=compose.references_for(msg.message_id, msg.references),
        automatic=True, kind=reply.kind, dedupe_key=f"email:auto:{event.id}",
    )


def _open_for_stranger(session: Session, inquiry: Inquiry, reply: Reply) -> Ticket:
    """Someone named another person's ticket and the pipeline registered nothing: register it anyway."""
    u = reply.answer.understanding if reply.answer is not None else None
    ticket = registry.open_ticket(
        session, office_id=inquiry.office_id, channel=inquiry.channel, actor=f"requester:{inquiry.requester_id}",
        requester_id=inquiry.requester_id, subject=inquiry.subject or inquiry.text[:120],
        classification=registry.Classification(u.category if u else None, u.intent if u else None,
                                               u.urgency if u else "normal", u.category_confidence if u else None),
        received_at=inquiry.received_at, formal=inquiry.formal)
    ticket.handoff = True
    return ticket


def _handle_bounce(session: Session, cfg: EmailConfig, event: InboundEvent, msg: ParsedMessage,
                   verdict: loops.Verdict) -> None:
    """A delivery failure report: attach it to the ticket whose mail bounced and mark that mail undelivered."""
    report = msg.report
    candidates: list[str] = []
    if report is not None:
        candidates += [report.original_message_id or "", *report.original_references]
    candidates += [*msg.in_reply_to, *msg.references, *OUR_ID_IN_TEXT.findall(msg.text[:200_000])]
    ids = [c for c in dict.fromkeys(candidates) if c]
    outbound = None
    if ids:
        outbound = session.scalar(
            select(Message).where(Message.office_id == event.office_id, Message.channel == Channel.EMAIL.value,
                                  Message.direction == Direction.OUTBOUND.value,
                                  Message.channel_message_id.in_(ids[:50]))
            .order_by(Message.id.desc()).limit(1))
    ticket = session.get(Ticket, outbound.ticket_id) if outbound is not None and outbound.ticket_id else None
    if ticket is None:
        for ref in ids:
            ticket_id = ticket_id_from_reference(cfg.thread_key, cfg.office_code, ref)
            if ticket_id is not None:
                ticket = session.get(Ticket, ticket_id)
                break
    failed = report.failed if report is not None and (report.action or report.status) else True
    status = (report.status if report else None) or M.BOUNCE_UNKNOWN
    recipient = (report.recipients[0] if report and report.recipients else None)
    if recipient is None and outbound is not None:
        recipient = session.scalar(select(OutboxMessage.recipient).where(OutboxMessage.message_id == outbound.id))
    if recipient is None and ticket is not None and ticket.requester_id:
        recipient = session.scalar(select(Requester.email).where(Requester.id == ticket.requester_id))
    details = {"status": status, "action": report.action if report else None, "recipient": recipient,
               "diagnostic": (report.diagnostic if report else None), "bounce_message_id": msg.message_id}
    lines = [(M.BOUNCE_NOTE if failed else M.BOUNCE_NOTE_DELAYED).format(recipient=recipient or "-", status=status)]
    if report is not None and report.diagnostic:
        lines.append(M.BOUNCE_DIAGNOSTIC.format(diagnostic=report.diagnostic))
    if outbound is not None and failed:
        outbound.delivery_state = "failed"
        outbound.meta = {**(outbound.meta or {}), "bounce": details}
        item = session.scalar(select(OutboxMessage).where(OutboxMessage.message_id == outbound.id))
        if item is not None:
            item.last_error = f"bounced: {status} {details['diagnostic'] or ''}".strip()[:2000]
    if ticket is not None and failed:
        registry.audit(session, office_id=ticket.office_id, ticket_id=ticket.id, actor="system",
                       action="delivery_failed", details={"channel": "email", **details})
    message = registry.add_message(
        session, ticket, office_id=event.office_id, direction=Direction.INBOUND, channel=Channel.EMAIL,
        author="system", text="\n".join(lines), actor="system", channel_message_id=msg.message_id,
        inbound_event_id=event.id, meta={**_message_meta(msg, verdict=verdict), "bounce": details})
    _store_attachments(session, cfg, event.office_id, message.id, msg)
