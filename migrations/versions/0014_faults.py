"""Proofs under fault: notes about the mailbox for the Clerk, and a durable count of processing attempts.

`mailbox_notes` records what the mailbox's server did that the Clerk should hear of (a folder
renumbered: new UIDVALIDITY); the digest lists them. `intake_attempts` counts each start of
processing a message, committed before the work, and is cleared in the transaction that keeps
it: a message that kills the process every time is quarantined after three starts.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailbox_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("folder_key", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mailbox_notes_at", "mailbox_notes", ["at"], unique=False)
    op.create_table(
        "intake_attempts",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=512), nullable=True),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )


def downgrade() -> None:
    op.drop_table("intake_attempts")
    op.drop_index("ix_mailbox_notes_at", table_name="mailbox_notes")
    op.drop_table("mailbox_notes")
