"""Tables of the LINE channel (migration helpdesk/migrations/versions/0002_line_state.py).

- line_conversation: the state of a guided conversation (the repair report, the school question), one
  row per requester at most, so that any web or worker process can continue it.
- line_content_job: media a requester sent (image, video, audio, file) waiting to be fetched from the
  LINE data API into its Attachment row, with retries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tickets.models import Base, utcnow


class LineConversation(Base):
    __tablename__ = "line_conversation"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("requester.id"), unique=True)
    flow: Mapped[str] = mapped_column(String(20))  # "repair" | "school"
    step: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class LineContentJob(Base):
    __tablename__ = "line_content_job"
    __table_args__ = (Index("ix_line_content_job_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachment.id"), unique=True)
    line_message_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | done | failed | skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
