"""Personal data and health: erasures on record, history lines that may be redacted during one, service marks.

`erasures` records each erasure (retention or a person's request) without naming the person.
The history stays append-only, with one narrow exception: while the erasing transaction holds
an open `erasures` row, a history line may be *updated* (its personal content blanked), never
deleted. No other transaction can see that uncommitted row, on SQLite (one writer) or on
PostgreSQL (MVCC), so everything else is refused exactly as before.

`service_marks` holds the last successful IMAP pass and outbox delivery, for `status`.

Revision ID: 0012
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

_OPEN = "EXISTS (SELECT 1 FROM erasures WHERE is_open)"


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "service_marks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
        op.execute(
            f"CREATE TRIGGER events_no_update BEFORE UPDATE ON events WHEN NOT {_OPEN} "
            "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
        )
    else:
        op.execute(
            "CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN IF TG_OP = 'UPDATE' AND {_OPEN} THEN RETURN NEW; END IF; "
            "RAISE EXCEPTION 'events are append-only'; END $$"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
        op.execute(
            "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
            "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
        )
    else:
        op.execute(
            "CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$"
        )
    op.drop_table("service_marks")
    op.drop_table("erasures")
