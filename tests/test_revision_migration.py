"""Migration 0004 gives items and reply keys the revision of their text, worked out from the history."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from test_decision_state_migration import EVENTS, ITEMS, KEYS, T0, item_row

from intake.replykeys import key_digest
from intake.resources import migrations_dir
from intake.store.db import make_engine, make_sessions, upgrade
from intake.store.models import Item, ReplyKey

# item 1: sent at T0, edited at T0+10 and T0+20 (a refused EDIT at T0+30 does not count); item 2 never edited.
EDITS = [(10, True), (20, True), (30, False)]
KEYS_ISSUED = {"k-first": 0, "k-after-one": 15, "k-after-two": 25, "k-late": 40}


def test_each_item_and_key_gets_the_revision_of_the_text_it_was_sent_with(database_url):
    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["engine"] = engine
    command.upgrade(config, "0003")
    with engine.begin() as conn:
        conn.execute(ITEMS.insert(), [item_row(1, "in_review"), item_row(2, "in_review")])
        conn.execute(
            KEYS.insert(),
            [
                {
                    "key": k,
                    "item_id": 1,
                    "email": "sam@example.org",
                    "purpose": "review-request",
                    "issued_at": T0 + timedelta(minutes=m),
                }
                for k, m in KEYS_ISSUED.items()
            ]
            + [
                {
                    "key": "k-other",
                    "item_id": 2,
                    "email": "sam@example.org",
                    "purpose": "review-request",
                    "issued_at": T0 + timedelta(minutes=50),
                }
            ],
        )
        for minutes, accepted in EDITS:
            data = {"command": "EDIT", "accepted": accepted, "key": "k", "from_status": "in_review"}
            at = T0 + timedelta(minutes=minutes)
            conn.execute(
                EVENTS.insert().values(item_id=1, actor="sam@example.org", kind="decision", detail="", at=at, data=data)
            )

    upgrade(engine)

    with make_sessions(engine)() as session:
        assert {i.id: i.revision for i in session.scalars(sa.select(Item))} == {1: 3, 2: 1}
        revisions = {k.digest: k.revision for k in session.scalars(sa.select(ReplyKey))}
        expected = {"k-first": 1, "k-after-one": 2, "k-after-two": 3, "k-late": 3, "k-other": 1}
        assert revisions == {key_digest(k): revision for k, revision in expected.items()}  # 0006 keeps digests only
    engine.dispose()
