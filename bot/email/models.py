"""Tables of the e-mail channel (migration helpdesk/migrations/versions/0003_email_channel.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tickets.models import Base, utcnow


class EmailMailboxState(Base):
    """Where the IMAP poller is in one mailbox: UIDVALIDITY and the last UID stored in the inbox.

    last_uid advances in the same transaction that stores the message, so a crash can never skip
    or double a message; a new UIDVALIDITY makes the poller read the mailbox again (the inbox dedupes).
    """

    __tablename__ = "email_mailbox_state"
    __table_args__ = (UniqueConstraint("office_id", "mailbox_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    mailbox_key: Mapped[str] = mapped_column(String(300))  # user@host:port/mailbox
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    messages_stored: Mapped[int] = mapped_column(Integer, default=0)
    last_poll_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EmailParticipant(Base):
    """Addresses allowed to add to a ticket by e-mail besides its requester (people in Cc, repliers)."""

    __tablename__ = "email_participant"
    __table_args__ = (UniqueConstraint("ticket_id", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    address: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))  # cc | to | replier
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmailAutoReply(Base):
    """One row per automatic reply: at most one per sender, per ticket, per day (Asia/Bangkok)."""

    __tablename__ = "email_auto_reply"
    __table_args__ = (UniqueConstraint("office_id", "scope", "address", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    scope: Mapped[str] = mapped_column(String(40))  # "ticket:<id>" or "none"
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    address: Mapped[str] = mapped_column(String(320))
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD in Bangkok
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
