"""The schema: typed SQLAlchemy 2 models. Every row belongs to an office (one deployment can serve several).

Times are stored as timezone-aware UTC instants; they are shown in Asia/Bangkok and the Buddhist Era.
Schema changes go through Alembic migrations in helpdesk/migrations.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on both engines (SQLite stores no zone; we always mean UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class StrEnum(enum.StrEnum):
    pass


class Channel(StrEnum):
    LINE = "line"
    EMAIL = "email"
    WEB = "web"  # the /try chat page and the repair form
    PHONE = "phone"  # entered by staff
    WALK_IN = "walk_in"  # entered by staff


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    VIEWER = "viewer"


class Direction(StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class EventStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def enum_col(e: type[enum.Enum], length: int = 16) -> String:
    # Stored as plain strings (portable, migration-friendly); validated in Python.
    return String(length)


class Office(Base):
    __tablename__ = "office"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class School(Base):
    __tablename__ = "school"
    __table_args__ = (UniqueConstraint("office_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(20))
    district: Mapped[str | None] = mapped_column(String(100))
    aliases: Mapped[list[Any]] = mapped_column(default=list)


class Requester(Base):
    """A teacher or clerk who asked something. Personal data under the PDPA: kept small, exportable, erasable."""

    __tablename__ = "requester"
    __table_args__ = (
        UniqueConstraint("office_id", "line_user_id"),
        UniqueConstraint("office_id", "email"),
        UniqueConstraint("office_id", "web_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    line_user_id: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320))
    web_id: Mapped[str | None] = mapped_column(String(64))  # the /try chat and `helpdesk chat`
    display_name: Mapped[str | None] = mapped_column(String(200))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))
    school_text: Mapped[str | None] = mapped_column(String(200))  # as typed, when no school matched
    consent_at: Mapped[datetime | None]
    following: Mapped[bool] = mapped_column(Boolean, default=True)
    # When they last sent LINE media that no ticket took: a new ticket looks for such media only if this
    # is recent, so the requesters who never did (nearly all) cost no query.
    loose_media_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    erased_at: Mapped[datetime | None]

    school: Mapped[School | None] = relationship()


class StaffUser(Base):
    __tablename__ = "staff_user"
    __table_args__ = (UniqueConstraint("office_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    username: Mapped[str] = mapped_column(String(80))
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(enum_col(Role))
    password_hash: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    line_user_id: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class TicketCounter(Base):
    """Next ticket sequence per office and Buddhist year; one row locked per allocation."""

    __tablename__ = "ticket_counter"

    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), primary_key=True)
    year_be: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    """One consultation in the register (ทะเบียนคุมการให้คำปรึกษา)."""

    __tablename__ = "ticket"
    __table_args__ = (
        UniqueConstraint("office_id", "number"),
        Index("ix_ticket_office_status_created", "office_id", "status", "created_at"),
        Index("ix_ticket_office_created", "office_id", "created_at"),
        Index("ix_ticket_office_received", "office_id", "received_at"),
        Index("ix_ticket_requester_status", "requester_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    number: Mapped[str] = mapped_column(String(20))
    year_be: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("requester.id"))
    channel: Mapped[str] = mapped_column(enum_col(Channel))
    subject: Mapped[str | None] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(40), index=True)
    intent: Mapped[str | None] = mapped_column(String(20))
    urgency: Mapped[str] = mapped_column(String(10), default="normal")
    confidence: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(enum_col(TicketStatus), default=TicketStatus.NEW.value)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    article_id: Mapped[str | None] = mapped_column(String(80))  # the knowledge article the bot answered with
    handoff: Mapped[bool] = mapped_column(Boolean, default=False)
    formal: Mapped[bool] = mapped_column(Boolean, default=False)
    self_served: Mapped[bool] = mapped_column(Boolean, default=False)  # closed by the bot's answer alone
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)  # when the request arrived
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # when it entered the register
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    registration_due_at: Mapped[datetime | None]
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    followup_due_at: Mapped[datetime | None]
    sla: Mapped[dict[str, Any]] = mapped_column(default=dict)  # breach flags: {"first_response": {"at":..., "by_s":...}}

    requester: Mapped[Requester | None] = relationship()
    assignee: Mapped[StaffUser | None] = relationship()
    messages: Mapped[list[Message]] = relationship(
        back_populates="ticket", order_by="Message.created_at, Message.id", foreign_keys="Message.ticket_id"
    )


class Message(Base):
    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_ticket_created", "ticket_id", "created_at"),
        Index("ix_message_channel_msgid", "channel", "channel_message_id"),
        # A requester's recent messages without a ticket (media sent before the text that opens one):
        # asked for each new ticket, and few next to a requester's whole history.
        Index("ix_message_loose", "requester_id", "created_at", sqlite_where=text("ticket_id IS NULL"),
              postgresql_where=text("ticket_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("requester.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(enum_col(Channel))
    author: Mapped[str] = mapped_column(String(20))  # requester | bot | staff | system
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)  # staff note, never sent
    text: Mapped[str] = mapped_column(Text, default="")
    channel_message_id: Mapped[str | None] = mapped_column(String(255))  # LINE message id / e-mail Message-ID
    inbound_event_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_event.id"))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    delivery_state: Mapped[str | None] = mapped_column(String(12))  # pending | sent | failed (outbound)
    withdrawn_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket | None] = relationship(back_populates="messages", foreign_keys=[ticket_id])
    attachments: Mapped[list[Attachment]] = relationship(back_populates="message")


class Attachment(Base):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[bytes | None] = mapped_column(LargeBinary)  # None when skipped
    skipped_reason: Mapped[str | None] = mapped_column(String(200))
    dangerous: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[Message] = relationship(back_populates="attachments")


class InboundEvent(Base):
    """Raw inbound events, stored before anything else happens; unique per source id (idempotent intake)."""

    __tablename__ = "inbound_event"
    __table_args__ = (
        UniqueConstraint("office_id", "source", "source_id"),
        Index("ix_inbound_event_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    source: Mapped[str] = mapped_column(String(16))  # line | email | web
    source_id: Mapped[str] = mapped_column(String(255))  # webhookEventId / Message-ID / hash
    payload: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # loaded only by the handler
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(enum_col(EventStatus), default=EventStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """A reply waiting to leave (LINE reply/push, e-mail). Retries transient failures, records permanent ones."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    channel: Mapped[str] = mapped_column(enum_col(Channel))
    recipient: Mapped[str] = mapped_column(String(320))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    retry_key: Mapped[str] = mapped_column(String(64))  # X-Line-Retry-Key / Message-ID seed
    status: Mapped[str] = mapped_column(enum_col(OutboxStatus), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_ticket_created", "ticket_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    actor: Mapped[str] = mapped_column(String(100))  # "staff:<id>", "bot", "system", "requester:<id>"
    action: Mapped[str] = mapped_column(String(40))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FollowUp(Base):
    """A scheduled check with the requester after a ticket is resolved (1–3 business days)."""

    __tablename__ = "follow_up"
    __table_args__ = (Index("ix_follow_up_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="scheduled")  # scheduled|sent|answered|expired|cancelled
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    sent_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rating(Base):
    """The requester's answer: solved?, understood (เข้าใจ/ไม่เข้าใจ)?, satisfaction 1–5."""

    __tablename__ = "rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    follow_up_id: Mapped[int | None] = mapped_column(ForeignKey("follow_up.id"))
    solved: Mapped[bool | None] = mapped_column(Boolean)
    understood: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(enum_col(Channel))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbArticle(Base):
    """Admin edits of knowledge articles; they override the bundled file copy with the same article_id."""

    __tablename__ = "kb_article"
    __table_args__ = (UniqueConstraint("office_id", "article_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    article_id: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class JobLease(Base):
    """Which worker runs a scheduled job now; a row per job, taken with a lease that expires."""

    __tablename__ = "job_lease"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    last_result: Mapped[dict[str, Any]] = mapped_column(default=dict)
