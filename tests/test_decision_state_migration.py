"""Migration 0003 fills each item's decision state and each reply key's uses from the history, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from intake.replykeys import key_digest
from intake.resources import migrations_dir
from intake.store.db import make_engine, make_sessions, upgrade
from intake.store.models import Item, ReplyKey

CLERK, DEPUTY, SAM = "clerk@example.org", "deputy@example.org", "sam@example.org"
T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)

ITEMS = sa.table(
    "items",
    *(sa.column(c) for c in ("id", "ref", "year", "number", "kind", "status", "sender", "sender_name")),
    *(sa.column(c) for c in ("sender_role", "subject", "text", "quarantine_reason")),
    sa.column("received_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("flags", sa.JSON()),
)
EVENTS = sa.table(
    "events",
    *(sa.column(c) for c in ("item_id", "actor", "kind", "detail")),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("data", sa.JSON()),
)
KEYS = sa.table(
    "reply_keys", *(sa.column(c) for c in ("key", "item_id", "email", "purpose")), sa.column("issued_at", sa.DateTime())
)

# (actor, command, accepted, key, from_status, new_status) in the order they were decided.
HISTORY = [
    (CLERK, "APPROVE", True, "k-clerk", "in_review", None),  # one of two approvals needed
    (SAM, "EDIT", True, "k-sam", "in_review", "in_review"),  # clears it
    (DEPUTY, "APPROVE", True, "k-deputy", "in_review", None),  # the approval of the present text
    (SAM, "ESCALATE", True, "k-sam", "in_review", "escalated"),
    (CLERK, "QUERY", True, "k-clerk", "escalated", "queried"),  # the answer returns it to the Clerk
    (SAM, "APPROVE", False, "k-sam", "queried", None),  # refused: spends nothing
]


def item_row(number: int, status: str) -> dict[str, object]:
    return {
        "id": number,
        "ref": f"SMAT-2026-{number:04d}",
        "year": 2026,
        "number": number,
        "kind": "draft",
        "status": status,
        "sender": "jane@example.com",
        "sender_name": "Jane",
        "sender_role": "public",
        "subject": "Litter pick",
        "text": "Thank you all!",
        "quarantine_reason": "",
        "received_at": T0,
        "updated_at": T0,
        "flags": [],
    }


def test_the_decision_state_is_worked_out_from_the_history_already_there(database_url):
    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["engine"] = engine
    command.upgrade(config, "0002")
    with engine.begin() as conn:
        conn.execute(ITEMS.insert(), [item_row(1, "queried"), item_row(2, "in_review")])
        conn.execute(
            KEYS.insert(),
            [
                {"key": k, "item_id": 1, "email": k, "purpose": "review-request", "issued_at": T0}
                for k in ("k-clerk", "k-sam", "k-deputy", "k-unused")
            ],
        )
        for n, (actor, verb, accepted, key, before, after) in enumerate(HISTORY, 1):
            data = {"command": verb, "accepted": accepted, "key": key, "from_status": before, "new_status": after}
            at = T0 + timedelta(minutes=n)
            conn.execute(EVENTS.insert().values(item_id=1, actor=actor, kind="decision", detail="", at=at, data=data))

    upgrade(engine)

    with make_sessions(engine)() as session:
        decided = session.get(Item, 1)
        assert decided is not None
        assert decided.approvals == [DEPUTY]
        assert (decided.decided_by, decided.decided_at) == (CLERK, T0 + timedelta(minutes=5))
        assert decided.status_before_query == "escalated"
        untouched = session.get(Item, 2)
        assert untouched is not None
        assert (untouched.approvals, untouched.decided_by, untouched.decided_at) == ([], "", None)
        assert untouched.status_before_query == "in_review"
        uses = {k.digest: k.used_for for k in session.scalars(sa.select(ReplyKey))}
        assert uses == {  # by digest since 0006: the keys themselves are no longer kept
            key_digest("k-clerk"): ["APPROVE", "QUERY"],
            key_digest("k-sam"): ["EDIT", "ESCALATE"],
            key_digest("k-deputy"): ["APPROVE"],
            key_digest("k-unused"): [],
        }
    engine.dispose()
