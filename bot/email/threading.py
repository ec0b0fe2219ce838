"""Which ticket an inbound e-mail belongs to.

Our outbound Message-IDs carry a signed ticket reference:

    <ict.{office}.{ticket id}.{nonce}.{hmac}@{domain}>

so a reply from any mail client, with any subject, threads to its ticket through In-Reply-To or
References; the HMAC (keyed from SECRET_KEY) means nobody can forge a reference to someone else's
ticket. Rules, first match wins:

1. a signed reference of ours in In-Reply-To / References -> that ticket (the sender becomes a participant);
2. a Message-ID we stored on a ticket (ours or the requester's earlier mail) -> that ticket, when the
   sender is its requester or a participant;
3. a ticket number in the subject -> that ticket when the sender is its requester or a participant;
   anybody else gets a new ticket linked to it, so nobody can append to a stranger's ticket;
4. otherwise a new ticket (the pipeline classifies it).
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from hashlib import sha256

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.email.models import EmailParticipant
from bot.email.parse import ParsedMessage
from tickets import registry
from tickets.models import Channel, Message, StaffUser, Ticket

_OUR_ID = re.compile(r"^ict\.([A-Za-z0-9_-]{1,40})\.(\d{1,12})\.([0-9a-f]{8,16})\.([0-9a-f]{20})@(.+)$")
OUR_ID_IN_TEXT = re.compile(r"ict\.[A-Za-z0-9_-]{1,40}\.\d{1,12}\.[0-9a-f]{8,16}\.[0-9a-f]{20}@[A-Za-z0-9.-]{1,200}")
SIG_CHARS = 20
MAX_MERGE_HOPS = 5


def _signature(key: bytes, office_code: str, ticket_id: int, nonce: str) -> str:
    return hmac.new(key, f"{office_code}.{ticket_id}.{nonce}".encode(), sha256).hexdigest()[:SIG_CHARS]


def make_message_id(key: bytes, office_code: str, ticket_id: int | None, domain: str, nonce: str | None = None) -> str:
    """A fresh Message-ID (without angle brackets); signed with the ticket when there is one."""
    nonce = nonce or secrets.token_hex(6)
    if ticket_id is None:
        return f"ict.{office_code}.0.{nonce}.{'0' * SIG_CHARS}@{domain}"
    return f"ict.{office_code}.{ticket_id}.{nonce}.{_signature(key, office_code, ticket_id, nonce)}@{domain}"


def ticket_id_from_reference(key: bytes, office_code: str, message_id: str) -> int | None:
    """The ticket id in one of our signed Message-IDs, or None (not ours, other office, bad signature)."""
    m = _OUR_ID.match(message_id.strip().strip("<>"))
    if not m or m.group(1) != office_code:
        return None
    ticket_id = int(m.group(2))
    if ticket_id <= 0:
        return None
    expected = _signature(key, office_code, ticket_id, m.group(3))
    return ticket_id if hmac.compare_digest(expected, m.group(4)) else None


def is_our_message_id(message_id: str | None) -> bool:
    return bool(message_id and _OUR_ID.match(message_id.strip().strip("<>")))


@dataclass(frozen=True)
class ThreadDecision:
    ticket_id: int | None
    how: str  # signed_reference | stored_reference | subject | new
    link_ticket_id: int | None = None  # a stranger named this ticket in the subject
    add_sender_as_participant: bool = False


def _follow_merges(session: Session, ticket: Ticket | None) -> Ticket | None:
    hops = 0
    while ticket is not None and ticket.merged_into_id is not None and hops < MAX_MERGE_HOPS:
        ticket = session.get(Ticket, ticket.merged_into_id)
        hops += 1
    return ticket


def is_participant(session: Session, ticket: Ticket, requester_id: int, address: str) -> bool:
    if ticket.requester_id == requester_id:
        return True
    found = session.scalar(select(EmailParticipant.id).where(EmailParticipant.ticket_id == ticket.id,
                                                             EmailParticipant.address == address))
    if found is not None:
        return True
    staff = session.scalar(select(StaffUser.id).where(StaffUser.office_id == ticket.office_id,
                                                      func.lower(StaffUser.email) == address,
                                                      StaffUser.active.is_(True)))
    return staff is not None


def add_participant(session: Session, ticket: Ticket, address: str, role: str) -> None:
    address = address.strip().lower()
    if not address or "@" not in address:
        return
    exists = session.scalar(select(EmailParticipant.id).where(EmailParticipant.ticket_id == ticket.id,
                                                              EmailParticipant.address == address))
    if exists is None:
        session.add(EmailParticipant(office_id=ticket.office_id, ticket_id=ticket.id, address=address[:320],
                                     role=role))
        session.flush()


def resolve_thread(
    session: Session,
    *,
    office_id: int,
    office_code: str,
    key: bytes,
    msg: ParsedMessage,
    requester_id: int,
    sender: str,
) -> ThreadDecision:
    refs = list(dict.fromkeys([*msg.in_reply_to, *reversed(msg.references)]))

    # 1. Our signed references.
    for ref in refs:
        ticket_id = ticket_id_from_reference(key, office_code, ref)
        if ticket_id is None:
            continue
        ticket = _follow_merges(session, session.get(Ticket, ticket_id))
        if ticket is not None and ticket.office_id == office_id:
            joined = not is_participant(session, ticket, requester_id, sender)
            return ThreadDecision(ticket.id, "signed_reference", add_sender_as_participant=joined)

    # 2. Message-IDs stored on a ticket.
    if refs:
        rows = session.execute(
            select(Message.ticket_id)
            .where(Message.office_id == office_id, Message.channel == Channel.EMAIL.value,
                   Message.channel_message_id.in_(refs[:50]), Message.ticket_id.is_not(None))
            .order_by(Message.id.desc())
            .limit(5)
        ).all()
        for (ticket_id,) in rows:
            ticket = _follow_merges(session, session.get(Ticket, ticket_id))
            if ticket is not None and is_participant(session, ticket, requester_id, sender):
                return ThreadDecision(ticket.id, "stored_reference")

    # 3. A ticket number in the subject.
    link: int | None = None
    for number in registry.find_ticket_numbers(msg.subject):
        ticket = _follow_merges(session, registry.get_by_number(session, office_id, number))
        if ticket is None:
            continue
        if is_participant(session, ticket, requester_id, sender):
            return ThreadDecision(ticket.id, "subject")
        link = link or ticket.id
    return ThreadDecision(None, "new", link_ticket_id=link)
