"""Keep beside each attachment what its content proved it to be and, for a picture, the copy we send on.

The original stays exactly as received in `data`; a picture's re-encoded copy (no location or
serial data, upright, scaled down, named by us) goes in `prepared_*`, and only that copy is
ever attached to our mail. Files kept before this migration were never examined: they get no
prepared copy, so they are listed and never attached.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("attachments", sa.Column("content_format", sa.String(length=64), nullable=False, server_default=""))
    op.add_column("attachments", sa.Column("withheld", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("attachments", sa.Column("note", sa.Text(), nullable=False, server_default=""))
    op.add_column("attachments", sa.Column("prepared_name", sa.String(length=255), nullable=True))
    op.add_column("attachments", sa.Column("prepared_type", sa.String(length=255), nullable=True))
    op.add_column("attachments", sa.Column("prepared_data", sa.LargeBinary(), nullable=True))
    op.add_column("attachments", sa.Column("attach", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("attachments") as batch:
        for name in ("attach", "prepared_data", "prepared_type", "prepared_name", "note", "withheld", "content_format"):
            batch.drop_column(name)
