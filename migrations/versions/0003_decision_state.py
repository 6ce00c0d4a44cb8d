"""Keep each item's decision state in typed columns, and each reply key's uses on the key.

The rules read who approved the current text, who settled the item's status and when,
the status a query's answer returns it to, and which commands a reply key has already
decided. These were worked out again from the history's free-form JSON on every reply;
now they are columns, filled here from that history for the items already there.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_OPEN_BEFORE_QUERY = ("in_review", "escalated")  # the open states a query can be asked from

_events = sa.table(
    "events",
    sa.column("id", sa.Integer()),
    sa.column("item_id", sa.Integer()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("data", sa.JSON()),
)
_items = sa.table(
    "items",
    sa.column("id", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("approvals", sa.JSON()),
    sa.column("decided_by", sa.String()),
    sa.column("decided_at", sa.DateTime(timezone=True)),
    sa.column("status_before_query", sa.String()),
)
_keys = sa.table("reply_keys", sa.column("key", sa.String()), sa.column("used_for", sa.JSON()))


def upgrade() -> None:
    op.add_column("items", sa.Column("approvals", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    op.add_column("items", sa.Column("decided_by", sa.String(length=320), nullable=False, server_default=""))
    op.add_column("items", sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "items", sa.Column("status_before_query", sa.String(length=16), nullable=False, server_default="in_review")
    )
    op.add_column("reply_keys", sa.Column("used_for", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    _backfill(op.get_bind())


def _backfill(conn: Any) -> None:
    """Work the state out of the accepted decisions in each item's history, as the rules did until now."""
    status = dict(conn.execute(sa.select(_items.c.id, _items.c.status)).all())
    state: dict[int, dict[str, Any]] = {}
    uses: dict[str, list[str]] = {}
    rows = conn.execute(
        sa.select(_events.c.item_id, _events.c.at, _events.c.actor, _events.c.data)
        .where(_events.c.kind == "decision")
        .order_by(_events.c.id)
    )
    for item_id, at, actor, data in rows:
        data = data or {}
        if not data.get("accepted"):
            continue
        s = state.setdefault(item_id, {"approvals": [], "decided_by": "", "decided_at": None, "before": "in_review"})
        command = data.get("command")
        if command == "EDIT":
            s["approvals"] = []
        elif command == "APPROVE" and actor not in s["approvals"]:
            s["approvals"].append(actor)
        elif command == "QUERY" and data.get("from_status") in _OPEN_BEFORE_QUERY:
            s["before"] = data["from_status"]
        if data.get("new_status") is not None and data.get("new_status") == status.get(item_id):
            s["decided_by"], s["decided_at"] = actor, at
        if data.get("key") and command and command not in uses.setdefault(data["key"], []):
            uses[data["key"]].append(command)
    for item_id, s in state.items():
        conn.execute(
            _items.update()
            .where(_items.c.id == item_id)
            .values(
                approvals=s["approvals"],
                decided_by=s["decided_by"],
                decided_at=s["decided_at"],
                status_before_query=s["before"],
            )
        )
    for key, verbs in uses.items():
        conn.execute(_keys.update().where(_keys.c.key == key).values(used_for=verbs))


def downgrade() -> None:
    with op.batch_alter_table("reply_keys", schema=None) as batch_op:
        batch_op.drop_column("used_for")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("status_before_query")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by")
        batch_op.drop_column("approvals")
