"""requester: when they last sent LINE media that no ticket took

Every new LINE ticket looked for such media (to attach it), with a query inside the transaction that
holds the ticket counter. Nearly all requesters never send media before their first text, so the
requester row now says whether there is anything to look for.

Revision ID: 0006_requester_loose_media
Revises: 0005_message_loose
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_requester_loose_media"
down_revision: str | None = "0005_message_loose"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("requester", sa.Column("loose_media_at", sa.DateTime(timezone=True), nullable=True))
    # Media already waiting when this runs keeps its chance to be adopted.
    op.execute(sa.text(
        "UPDATE requester SET loose_media_at = (SELECT max(m.created_at) FROM message m WHERE m.requester_id ="
        " requester.id AND m.ticket_id IS NULL AND m.direction = 'in' AND m.channel = 'line')"
        " WHERE EXISTS (SELECT 1 FROM message m WHERE m.requester_id = requester.id AND m.ticket_id IS NULL"
        " AND m.direction = 'in' AND m.channel = 'line')"))


def downgrade() -> None:
    with op.batch_alter_table("requester") as batch:
        batch.drop_column("loose_media_at")
