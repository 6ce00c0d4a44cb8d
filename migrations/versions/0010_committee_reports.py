"""The monthly committee reports: one row per month, so only one report is ever sent for a month.

The unique `month` (its first day) is the guard, as `digests.day` is for the daily digest:
the row is inserted in the transaction that queues the report's mail, so a restarted service
or a second instance on the same database fails on it and sends nothing.

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "committee_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("month"),
    )


def downgrade() -> None:
    op.drop_table("committee_reports")
