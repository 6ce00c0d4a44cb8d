"""Files kept once by content; outgoing mail kept as a skeleton with its files spliced in when sent.

Before this, each attachment kept its original bytes beside the raw message that already holds
them, and each outgoing message kept its own base64 copy of every photo it carried: a draft
with one photo sent to three reviewers held the photo six times. Now:

- `blobs` holds the bytes our mail carries (a picture's re-encoded copy, a document as it came),
  once per SHA-256; `attachments.sent_sha256` points at it and `prepared` says which kind.
- The original bytes stay only in the raw message (kept exactly); `attachments.part` is the
  file's place among those the parser finds there, to read it back.
- `outbox_bodies.raw` holds the message without its files' bodies (zlib when `packing` is
  "zlib"), and `parts` where each file's base64 goes. Mail already queued keeps its whole
  message in `raw` with no parts, and is sent exactly as before.
- Indexes for a big history: items by status and date (`items --status`, newest first), reply
  keys by the mail that carried them (a reply matched by In-Reply-To).

Revision ID: 0013
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.add_column("attachments", sa.Column("part", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("attachments", sa.Column("prepared", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("attachments", sa.Column("sent_sha256", sa.String(length=64), nullable=True))
    _move_sent_copies_to_blobs()
    with op.batch_alter_table("attachments") as batch:
        batch.create_foreign_key("fk_attachments_sent_sha256_blobs", "blobs", ["sent_sha256"], ["sha256"])
        batch.create_index("ix_attachments_sent_sha256", ["sent_sha256"], unique=False)
        batch.drop_column("prepared_data")
        batch.drop_column("data")
    op.add_column("outbox_bodies", sa.Column("parts", sa.JSON(), nullable=False, server_default="[]"))
    op.add_column("outbox_bodies", sa.Column("packing", sa.String(length=8), nullable=False, server_default=""))
    op.create_index("ix_items_status_received_at", "items", ["status", "received_at"], unique=False)
    op.create_index("ix_reply_keys_outbox_id", "reply_keys", ["outbox_id"], unique=False)


def _move_sent_copies_to_blobs() -> None:
    """Each attachment's sent copy (a picture's prepared bytes, else a sent document's own) into `blobs`, once."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, data, prepared_data, attach, prepared_name FROM attachments ORDER BY id")
    ).fetchall()
    seen: set[str] = set()
    for row_id, data, prepared_data, attach, prepared_name in rows:
        if prepared_data is not None:
            sent, prepared = bytes(prepared_data), True
        elif attach and prepared_name:
            sent, prepared = bytes(data), False
        else:
            continue
        sha = hashlib.sha256(sent).hexdigest()
        if sha not in seen:
            bind.execute(
                sa.text("INSERT INTO blobs (sha256, size, data) VALUES (:sha, :size, :data)"),
                {"sha": sha, "size": len(sent), "data": sent},
            )
            seen.add(sha)
        bind.execute(
            sa.text("UPDATE attachments SET sent_sha256 = :sha, prepared = :prepared WHERE id = :id"),
            {"sha": sha, "prepared": prepared, "id": row_id},
        )


def downgrade() -> None:
    op.drop_index("ix_reply_keys_outbox_id", table_name="reply_keys")
    op.drop_index("ix_items_status_received_at", table_name="items")
    with op.batch_alter_table("outbox_bodies") as batch:
        batch.drop_column("packing")
        batch.drop_column("parts")
    op.add_column("attachments", sa.Column("data", sa.LargeBinary(), nullable=True))
    op.add_column("attachments", sa.Column("prepared_data", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("attachments") as batch:
        batch.drop_index("ix_attachments_sent_sha256")
        batch.drop_constraint("fk_attachments_sent_sha256_blobs", type_="foreignkey")
        batch.drop_column("sent_sha256")
        batch.drop_column("prepared")
        batch.drop_column("part")
    op.drop_table("blobs")
