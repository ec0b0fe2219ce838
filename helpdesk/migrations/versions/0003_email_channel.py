"""e-mail channel: IMAP mailbox state, ticket participants, automatic reply log

Revision ID: 0003_email
Revises: 0002_line
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_email"
# Written against 0001; chained after the LINE channel's 0002 so that the history has a single head.
down_revision: str | None = "0002_line"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_mailbox_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("mailbox_key", sa.String(length=300), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("messages_stored", sa.Integer(), nullable=False),
        sa.Column("last_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], name=op.f("fk_email_mailbox_state_office_id_office")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_mailbox_state")),
        sa.UniqueConstraint("office_id", "mailbox_key", name=op.f("uq_email_mailbox_state_office_id_mailbox_key")),
    )
    op.create_table(
        "email_participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], name=op.f("fk_email_participant_office_id_office")),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_email_participant_ticket_id_ticket")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_participant")),
        sa.UniqueConstraint("ticket_id", "address", name=op.f("uq_email_participant_ticket_id_address")),
    )
    with op.batch_alter_table("email_participant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_email_participant_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "email_auto_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], name=op.f("fk_email_auto_reply_office_id_office")),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_email_auto_reply_ticket_id_ticket")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_auto_reply")),
        sa.UniqueConstraint("office_id", "scope", "address", "day",
                            name=op.f("uq_email_auto_reply_office_id_scope_address_day")),
    )
    with op.batch_alter_table("email_auto_reply", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_email_auto_reply_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("email_auto_reply", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_auto_reply_ticket_id"))
    op.drop_table("email_auto_reply")
    with op.batch_alter_table("email_participant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_participant_ticket_id"))
    op.drop_table("email_participant")
    op.drop_table("email_mailbox_state")
