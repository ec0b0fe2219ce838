"""message: the trigram search index covers the requesters' messages only

The queue's search looks in what requesters wrote (admin.queries.search_condition), never in the bot's
or staff's answers, yet every answer, the longest texts we store, went into the trigram index too: on
every insert, and again when LINE's sent-message id was written onto it (an update of an indexed
column, so a new index entry). The index is now partial on inbound messages.

Revision ID: 0007_message_search_inbound
Revises: 0006_requester_loose_media
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_message_search_inbound"
down_revision: str | None = "0006_requester_loose_media"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_message_text_trgm"


def _has_index(bind) -> bool:  # type: ignore[no-untyped-def]
    return bool(bind.execute(sa.text("SELECT to_regclass(:name) IS NOT NULL"), {"name": NAME}).scalar())


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not _has_index(bind):
        return  # SQLite, or no pg_trgm (migration 0004 said so): nothing to narrow
    op.drop_index(NAME, table_name="message")
    op.create_index(NAME, "message", ["text"], unique=False, postgresql_using="gin",
                    postgresql_ops={"text": "gin_trgm_ops"}, postgresql_where="direction = 'in'")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not _has_index(bind):
        return
    op.drop_index(NAME, table_name="message")
    op.create_index(NAME, "message", ["text"], unique=False, postgresql_using="gin",
                    postgresql_ops={"text": "gin_trgm_ops"})
