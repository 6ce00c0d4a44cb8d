"""Migration 0015 gives every item its sender's matching key (lower case, no sub-address tag), indexed."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from test_decision_state_migration import ITEMS, item_row

from intake.resources import migrations_dir
from intake.store.db import make_engine, upgrade


def test_items_already_kept_get_the_key_their_sender_is_matched_by(database_url):
    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["engine"] = engine
    command.upgrade(config, "0014")
    senders = {1: "Jane+Drafts@Example.COM", 2: " sam@example.org ", 3: ""}
    with engine.begin() as conn:
        conn.execute(ITEMS.insert(), [{**item_row(n, "in_review"), "sender": s} for n, s in senders.items()])

    upgrade(engine)

    with engine.connect() as conn:
        keys = dict(conn.execute(sa.text("SELECT id, sender_key FROM items ORDER BY id")).all())
        indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("items")}
    assert keys == {1: "jane@example.com", 2: "sam@example.org", 3: ""}
    assert "ix_items_sender_key_received_at" in indexes
    engine.dispose()
