"""The outbox's due index ends with the row id, so "the oldest due row" is read in index order on PostgreSQL.

Delivery takes the due rows oldest first, `ORDER BY next_attempt_at, id`. SQLite's index on
(status, next_attempt_at) already ends with the rowid; PostgreSQL's did not, so it sorted every
pending row for each message it sent: with 4,000 waiting, 10 ms a message, less as the queue
shrank (O(n²) over a backlog). With id in the index the first due row is the first entry.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
