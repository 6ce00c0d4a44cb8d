"""The Town Clerk's daily digests: one row per local day, so only one digest is ever sent for a day.

The unique `day` is the guard: the row is inserted in the transaction that queues the
digest mail, so a restarted service or a second instance on the same database fails on it
and sends nothing. Two indexes let the digest read a period's messages and history lines
without scanning every row.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day"),
    )
    op.create_index("ix_messages_received_at", "messages", ["received_at"], unique=False)
    op.create_index("ix_events_kind_at", "events", ["kind", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_events_kind_at", table_name="events")
    op.drop_index("ix_messages_received_at", table_name="messages")
    op.drop_table("digests")
