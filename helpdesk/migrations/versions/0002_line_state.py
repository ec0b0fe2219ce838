"""LINE channel state: guided conversations and media fetch jobs

Revision ID: 0002_line
Revises: 0001
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_line"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "line_conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("flow", sa.String(length=20), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], name=op.f("fk_line_conversation_office_id_office")),
        sa.ForeignKeyConstraint(["requester_id"], ["requester.id"],
                                name=op.f("fk_line_conversation_requester_id_requester")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_conversation")),
        sa.UniqueConstraint("requester_id", name=op.f("uq_line_conversation_requester_id")),
    )
    op.create_table(
        "line_content_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("line_message_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["attachment_id"], ["attachment.id"],
                                name=op.f("fk_line_content_job_attachment_id_attachment")),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], name=op.f("fk_line_content_job_office_id_office")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_content_job")),
        sa.UniqueConstraint("attachment_id", name=op.f("uq_line_content_job_attachment_id")),
    )
    with op.batch_alter_table("line_content_job", schema=None) as batch_op:
        batch_op.create_index("ix_line_content_job_status_next", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("line_content_job", schema=None) as batch_op:
        batch_op.drop_index("ix_line_content_job_status_next")
    op.drop_table("line_content_job")
    op.drop_table("line_conversation")
