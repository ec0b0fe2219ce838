"""message: a partial index on a requester's messages without a ticket

Every new ticket from LINE asks whether its requester sent media without a ticket in the last 30 minutes
(to attach it). Through the requester index that read the requester's whole history, which grows with
every message; this index holds only the messages without a ticket.

Revision ID: 0005_message_loose
Revises: 0004_admin
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_message_loose"
down_revision: str | None = "0004_admin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_message_loose", "message", ["requester_id", "created_at"], unique=False,
                    sqlite_where=sa.text("ticket_id IS NULL"), postgresql_where=sa.text("ticket_id IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_message_loose", table_name="message")
