"""Items keep their sender's address in a matching form, indexed; a folder remembers how a clean pass left it.

`items.sender_key`: the sender's address lower case, without its sub-address tag.

The acknowledgement cap and the repeat check ask "this sender's items since…" for every draft;
reading `lower(sender)` over the day's items made that a scan of every item received today
(a backlog of 5,000 drafts: O(n²)). The key is what `intake.config.addresses.untagged` makes.

`mailbox_state.quiet_uidnext` / `quiet_messages`: the folder's UIDNEXT and message count after a
pass that took in and moved everything it found. A poll whose STATUS shows both unchanged has
nothing to do and need not SELECT the folder (on a 20,000-message Maildir, most of a poll's time).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_BATCH = 5_000


def _key(email: str) -> str:
    """The same rule as intake.config.addresses.untagged, frozen here so the migration never changes."""
    local, at, domain = email.strip().lower().rpartition("@")
    if not at:
        return email.strip().lower()
    return f"{local.split('+', 1)[0]}@{domain}"


def upgrade() -> None:
    op.add_column("items", sa.Column("sender_key", sa.String(length=320), nullable=False, server_default=""))
    bind = op.get_bind()
    items = sa.table("items", sa.column("id", sa.Integer), sa.column("sender", sa.String), sa.column("sender_key"))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(items.c.id, items.c.sender).where(items.c.id > last).order_by(items.c.id).limit(_BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            items.update().where(items.c.id == sa.bindparam("item_id")).values(sender_key=sa.bindparam("key")),
            [{"item_id": row.id, "key": _key(row.sender or "")} for row in rows],
        )
        last = rows[-1].id
    op.create_index("ix_items_sender_key_received_at", "items", ["sender_key", "received_at"], unique=False)
    op.add_column("mailbox_state", sa.Column("quiet_uidnext", sa.BigInteger(), nullable=True))
    op.add_column("mailbox_state", sa.Column("quiet_messages", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mailbox_state") as batch_op:
        batch_op.drop_column("quiet_messages")
        batch_op.drop_column("quiet_uidnext")
    op.drop_index("ix_items_sender_key_received_at", table_name="items")
    with op.batch_alter_table("items") as batch_op:
        batch_op.drop_column("sender_key")
