"""Follow-up of the requester after a ticket is resolved (001:L288, L325: ๑ - ๓ วันทำการ), with the
understanding check the manual asks for (001:L286) and a satisfaction score.

Flow: a resolved ticket gets a FollowUp due `followup_after_days` business days later; the worker sends
it on the requester's own channel (LINE buttons, or an e-mail with a signed, single-use, expiring link);
"not solved" reopens the ticket and alerts staff; no answer within `followup_close_after_days`
business days closes the ticket. Every answer is kept as a Rating for the statistics.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.outbox import enqueue
from tickets import alerts, registry
from tickets.models import FollowUp, Office, Rating, Requester, Ticket, TicketStatus, utcnow
from tickets.sla import followup_send_at, office_rules

TOKEN_MAX_AGE = timedelta(days=14)
TOKEN_SALT = "helpdesk-followup"

QUESTION_TEXT = (
    "เรื่องเลขที่ {number} ({subject}) ดำเนินการเสร็จแล้ว ขอสอบถามผลการให้คำปรึกษาเพื่อปรับปรุงบริการค่ะ/ครับ\n"
    "1) ปัญหาได้รับการแก้ไขแล้วหรือไม่\n2) ท่านเข้าใจคำแนะนำหรือไม่\n3) ความพึงพอใจ 1-5"
)
EMAIL_LINK_TEXT = "\n\nตอบแบบสอบถามได้ที่ลิงก์นี้ (ใช้ได้ครั้งเดียว ภายใน 14 วัน):\n{url}"


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)


def make_token(follow_up: FollowUp, secret_key: str) -> str:
    """A new signed token for this follow-up; only its latest nonce's hash is stored."""
    nonce = secrets.token_urlsafe(16)
    follow_up.token_hash = _hash(nonce)
    return _serializer(secret_key).dumps({"f": follow_up.id, "n": nonce})


class TokenError(ValueError):
    """The link is forged, expired or already used (message in Thai for the public page)."""


def follow_up_for_token(session: Session, token: str, secret_key: str, now: datetime | None = None) -> FollowUp:
    try:
        data = _serializer(secret_key).loads(token, max_age=int(TOKEN_MAX_AGE.total_seconds()))
    except SignatureExpired:
        raise TokenError("ลิงก์นี้หมดอายุแล้ว") from None
    except BadSignature:
        raise TokenError("ลิงก์ไม่ถูกต้อง") from None
    if not isinstance(data, dict) or "f" not in data or "n" not in data:
        raise TokenError("ลิงก์ไม่ถูกต้อง")
    follow_up = session.get(FollowUp, int(data["f"]))
    if follow_up is None or follow_up.token_hash != _hash(str(data["n"])):
        raise TokenError("ลิงก์ไม่ถูกต้อง")
    if follow_up.status == "answered":
        raise TokenError("ได้รับคำตอบของท่านแล้ว ขอบคุณค่ะ/ครับ")
    if follow_up.status in ("expired", "cancelled"):
        raise TokenError("เรื่องนี้ปิดไปแล้ว หากยังมีปัญหา กรุณาแจ้งเรื่องใหม่")
    return follow_up


@dataclass(frozen=True)
class SweepResult:
    scheduled: int = 0
    sent: int = 0
    expired: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"scheduled": self.scheduled, "sent": self.sent, "expired": self.expired}


def schedule(session: Session, now: datetime, limit: int = 5000) -> int:
    """Give every resolved ticket with a reachable requester a follow-up (once)."""
    rows = session.execute(
        select(Ticket, Office.settings)
        .join(Office, Office.id == Ticket.office_id)
        .outerjoin(FollowUp, FollowUp.ticket_id == Ticket.id)
        .where(
            Ticket.status == TicketStatus.RESOLVED.value,
            Ticket.resolved_at.is_not(None),
            Ticket.requester_id.is_not(None),
            Ticket.channel.in_(("line", "email")),
            Ticket.merged_into_id.is_(None),
            FollowUp.id.is_(None),
        )
        .limit(limit)
    ).all()
    for ticket, settings in rows:
        cal, policy = office_rules(settings)
        assert ticket.resolved_at is not None
        session.add(FollowUp(office_id=ticket.office_id, ticket_id=ticket.id,
                             due_at=followup_send_at(ticket.resolved_at, policy, cal), status="scheduled"))
    session.flush()
    return len(rows)


def send_due(session: Session, now: datetime, secret_key: str, public_base_url: str, limit: int = 500) -> int:
    """Queue the due follow-ups on the requester's own channel and mark them sent (one transaction)."""
    rows = session.execute(
        select(FollowUp, Ticket, Requester)
        .join(Ticket, Ticket.id == FollowUp.ticket_id)
        .join(Requester, Requester.id == Ticket.requester_id)
        .where(FollowUp.status == "scheduled", FollowUp.due_at <= now)
        .order_by(FollowUp.due_at)
        .limit(limit)
    ).all()
    sent = 0
    for follow_up, ticket, requester in rows:
        if ticket.status != TicketStatus.RESOLVED.value or requester.erased_at is not None:
            follow_up.status = "cancelled"
            continue
        text = QUESTION_TEXT.format(number=ticket.number, subject=ticket.subject or "-")
        token = make_token(follow_up, secret_key)
        if ticket.channel == "line":
            if not requester.line_user_id or not requester.following:
                follow_up.status = "cancelled"
                continue
            recipient = requester.line_user_id
            payload: dict[str, Any] = {"type": "followup", "follow_up_id": follow_up.id, "token": token,
                                       "ticket_number": ticket.number, "text": text}
        else:
            if not requester.email:
                follow_up.status = "cancelled"
                continue
            recipient = requester.email
            url = f"{public_base_url.rstrip('/')}/f/{token}"
            payload = {"type": "followup", "follow_up_id": follow_up.id, "ticket_number": ticket.number,
                       "subject": f"[{ticket.number}] สอบถามผลการให้คำปรึกษา",
                       "text": text + EMAIL_LINK_TEXT.format(url=url), "url": url}
        enqueue(session, office_id=ticket.office_id, channel=ticket.channel, recipient=recipient, payload=payload,
                dedupe_key=f"followup:{follow_up.id}", ticket_id=ticket.id)
        follow_up.status = "sent"
        follow_up.sent_at = now
        registry.audit(session, office_id=ticket.office_id, ticket_id=ticket.id, actor="system",
                       action="followup_sent", details={"follow_up_id": follow_up.id, "channel": ticket.channel})
        sent += 1
    return sent


def expire(session: Session, now: datetime, limit: int = 1000) -> int:
    """Close tickets whose follow-up got no answer within the office's window."""
    rows = session.execute(
        select(FollowUp, Ticket, Office.settings)
        .join(Ticket, Ticket.id == FollowUp.ticket_id)
        .join(Office, Office.id == Ticket.office_id)
        .where(FollowUp.status == "sent", FollowUp.sent_at.is_not(None))
        .limit(limit)
    ).all()
    expired = 0
    for follow_up, ticket, settings in rows:
        cal, policy = office_rules(settings)
        assert follow_up.sent_at is not None
        if now < cal.add_business_days(follow_up.sent_at, policy.followup_close_after_days):
            continue
        follow_up.status = "expired"
        if ticket.status == TicketStatus.RESOLVED.value:
            registry.change_status(session, ticket, TicketStatus.CLOSED, actor="system",
                                   note="no answer to the follow-up")
        expired += 1
    return expired


def record_answer(
    session: Session,
    follow_up: FollowUp,
    *,
    channel: str,
    solved: bool | None = None,
    understood: bool | None = None,
    score: int | None = None,
    comment: str | None = None,
    final: bool = False,
    now: datetime | None = None,
) -> Rating:
    """Store (part of) the requester's answer. LINE answers arrive one button at a time; the web form
    sends everything at once with final=True. "Not solved" reopens the ticket and alerts staff."""
    now = now or utcnow()
    if score is not None and not 1 <= score <= 5:
        raise ValueError("score must be 1-5")
    ticket = session.get(Ticket, follow_up.ticket_id)
    assert ticket is not None
    rating = session.scalar(select(Rating).where(Rating.follow_up_id == follow_up.id))
    if rating is None:
        rating = Rating(office_id=follow_up.office_id, ticket_id=follow_up.ticket_id, follow_up_id=follow_up.id,
                        channel=channel, created_at=now)
        session.add(rating)
    if solved is not None:
        rating.solved = solved
    if understood is not None:
        rating.understood = understood
    if score is not None:
        rating.score = score
    if comment:
        rating.comment = comment[:2000]
    follow_up.answered_at = now
    done = final or (rating.solved is not None and rating.understood is not None and rating.score is not None)
    if solved is False:
        follow_up.status = "answered"
        if ticket.status in (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value):
            registry.reopen(session, ticket, actor=f"requester:{ticket.requester_id}", reason="not solved (follow-up)")
        office = session.get(Office, ticket.office_id)
        assert office is not None
        cal, _ = office_rules(office.settings)
        alerts.ticket_alert(session, office, ticket, "not_solved", now=now, cal=cal)
    elif done:
        follow_up.status = "answered"
        if ticket.status == TicketStatus.RESOLVED.value:
            registry.change_status(session, ticket, TicketStatus.CLOSED, actor=f"requester:{ticket.requester_id}",
                                   note="follow-up answered")
    registry.audit(session, office_id=ticket.office_id, ticket_id=ticket.id, actor=f"requester:{ticket.requester_id}",
                   action="followup_answer",
                   details={k: v for k, v in {"solved": solved, "understood": understood, "score": score}.items()
                            if v is not None})
    session.flush()
    return rating


def sweep(session: Session, now: datetime, secret_key: str, public_base_url: str) -> SweepResult:
    return SweepResult(
        scheduled=schedule(session, now),
        sent=send_due(session, now, secret_key, public_base_url),
        expired=expire(session, now),
    )
