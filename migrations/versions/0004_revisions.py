"""Give each item's text a revision, and bind each reply key to the revision it was sent with.

An approval must name the text it approves (issue 7, item 4): an EDIT starts a new
revision, and a key sent with an older one can no longer approve. Items and keys already
there are worked out from the history: an item's revision is one more than its accepted
EDITs, a key's is one more than the accepted EDITs on its item before it was issued.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_events = sa.table(
    "events",
    sa.column("id", sa.Integer()),
    sa.column("item_id", sa.Integer()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("kind", sa.String()),
    sa.column("data", sa.JSON()),
)
_items = sa.table("items", sa.column("id", sa.Integer()), sa.column("revision", sa.Integer()))
_keys = sa.table(
    "reply_keys",
    sa.column("key", sa.String()),
    sa.column("item_id", sa.Integer()),
    sa.column("issued_at", sa.DateTime(timezone=True)),
    sa.column("revision", sa.Integer()),
)


def upgrade() -> None:
    op.add_column("items", sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("reply_keys", sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
    _backfill(op.get_bind())


def _backfill(conn: Any) -> None:
    """Count each item's accepted EDITs, and those before each of its keys was issued."""
    edits: dict[int, list[Any]] = {}
    rows = conn.execute(
        sa.select(_events.c.item_id, _events.c.at, _events.c.data)
        .where(_events.c.kind == "decision")
        .order_by(_events.c.id)
    )
    for item_id, at, data in rows:
        data = data or {}
        if data.get("accepted") and data.get("command") == "EDIT":
            edits.setdefault(item_id, []).append(_naive(at))
    for item_id, times in edits.items():
        conn.execute(_items.update().where(_items.c.id == item_id).values(revision=1 + len(times)))
        keys = conn.execute(sa.select(_keys.c.key, _keys.c.issued_at).where(_keys.c.item_id == item_id)).all()
        for key, issued_at in keys:
            before = sum(1 for t in times if t <= _naive(issued_at))
            if before:
                conn.execute(_keys.update().where(_keys.c.key == key).values(revision=1 + before))


def _naive(at: Any) -> Any:
    """A stored time comparable with another: SQLite reads naive UTC, PostgreSQL aware."""
    return at.astimezone(UTC).replace(tzinfo=None) if at is not None and at.tzinfo is not None else at


def downgrade() -> None:
    with op.batch_alter_table("reply_keys", schema=None) as batch_op:
        batch_op.drop_column("revision")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("revision")
