"""Keep outgoing messages' bytes apart from their delivery state.

Every status change of an outbox row (claimed, sent, deferred) rewrote the whole stored
message, photos included; with the bytes in their own table, those updates touch a few
small columns.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_bodies",
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"]),
        sa.PrimaryKeyConstraint("outbox_id"),
    )
    op.execute("INSERT INTO outbox_bodies (outbox_id, raw) SELECT id, raw FROM outbox")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("raw")


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw", sa.LargeBinary(), nullable=True))
    op.execute("UPDATE outbox SET raw = (SELECT raw FROM outbox_bodies WHERE outbox_bodies.outbox_id = outbox.id)")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("raw", nullable=False)
    op.drop_table("outbox_bodies")
