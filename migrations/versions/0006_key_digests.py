"""Keep each reply key's SHA-256 digest instead of the key itself.

A reply key in the database was a live vote: anyone holding a copy of the file could reply
from a member's address with it. The keys already issued are replaced by their digests
here; a reply is matched by the digest of the key it carries (`replykeys.key_digest`).
The key named in older history lines is left as it is: the history is append-only
evidence, and those keys expire after `reply_key_days`.

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_keys = sa.table("reply_keys", sa.column("key", sa.String()))


def _digest(key: str) -> str:
    """The same digest as `intake.replykeys.key_digest` (copied: a migration must not change when the code does)."""
    return hashlib.sha256(key.encode()).hexdigest()


def upgrade() -> None:
    conn = op.get_bind()
    for (key,) in conn.execute(sa.select(_keys.c.key)).all():
        conn.execute(_keys.update().where(_keys.c.key == key).values(key=_digest(key)))
    with op.batch_alter_table("reply_keys", schema=None) as batch_op:
        batch_op.alter_column("key", new_column_name="digest", existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    # A digest cannot be turned back into its key: the keys issued so far stop working.
    with op.batch_alter_table("reply_keys", schema=None) as batch_op:
        batch_op.alter_column("digest", new_column_name="key", existing_type=sa.String(length=64), nullable=False)
