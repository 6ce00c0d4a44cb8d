"""A big history: 100,000 items and 1,000,000 history lines, and how fast the everyday reads stay.

    .venv/bin/python bench/history.py                       # SQLite and PostgreSQL, 100,000 items
    .venv/bin/python bench/history.py --items 10000 --database sqlite   # a quick try

It fills a fresh database (at the newest migration) with years of a busy council's work —
most items decided long ago, a few dozen awaiting review, ten history lines an item, two
outgoing mails and three reply keys an item — in bulk, then times, best of five:

- the Clerk's digest for the last day (gather + build, as `digest --print`), target <= 1 s;
- `items --status in_review` (the query and the table it prints), target <= 0.5 s;
- matching a reply to its item, by reply key and by In-Reply-To (our Message-ID), target <= 10 ms;

and prints the query plan of every statement each one ran (EXPLAIN QUERY PLAN / EXPLAIN).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from sqlalchemy import event, insert, text  # noqa: E402

from intake.replykeys import key_digest, new_key  # noqa: E402
from intake.store.db import make_engine, make_sessions, upgrade  # noqa: E402
from intake.store.models import Event, Item, Message, OutboxBody, OutboxMessage, ReplyKey  # noqa: E402

SECRET = b"bench-secret-0123456789abcdef"
DOMAIN = "example.org"
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
DECIDED = ["posted"] * 6 + ["rejected"] * 2 + ["approved", "withdrawn"]
KINDS = ["received", "acknowledged", "review_requested", "review_requested", "review_requested"]
KINDS += ["mail_sent", "mail_sent", "mail_sent", "mail_sent", "decision"]
CHUNK = 5000


def fill(url: str, items: int, lines_per_item: int, awaiting: int) -> None:
    """Bulk rows: items spread over five years, their messages, history lines, mail and reply keys."""
    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(13)
    span = timedelta(days=5 * 365)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))  # the append-only guard, for the bulk load
        for start in range(0, items, CHUNK):
            ids = range(start + 1, min(start + CHUNK, items) + 1)
            rows, messages, events, outbox, bodies, keys = [], [], [], [], [], []
            for i in ids:
                at = NOW - span * (1 - i / items) - timedelta(minutes=1)
                status = "in_review" if i > items - awaiting else DECIDED[i % len(DECIDED)]
                year = at.year
                rows.append(
                    {
                        "id": i, "ref": f"SMAT-{year}-{i:06d}", "year": year, "number": i, "kind": "draft",
                        "status": status, "sender": f"resident{i % 5000}@example.com", "sender_name": "",
                        "sender_role": "public", "subject": f"Draft {i}", "text": "Litter pick on Saturday.",
                        "received_at": at, "updated_at": at, "quarantine_reason": "", "flags": [],
                        "approvals": [], "decided_by": "", "status_before_query": "in_review", "revision": 1,
                    }
                )  # fmt: skip
                messages.append(
                    {
                        "id": i, "source": "imap", "source_key": f"imap:bench:{i}", "received_at": at,
                        "raw": b"Subject: Draft\r\n\r\nLitter pick on Saturday.\r\n", "sha256": "0" * 64, "size": 44,
                        "message_id": f"draft-{i}@example.com", "sender": f"resident{i % 5000}@example.com",
                        "subject": f"Draft {i}", "classification": "draft", "reason": "", "item_id": i,
                    }
                )  # fmt: skip
                for n in range(lines_per_item):
                    kind = KINDS[n % len(KINDS)] if status != "in_review" or n < 5 else "mail_sent"
                    data = {"command": "APPROVE", "accepted": True} if kind == "decision" else {}
                    events.append(
                        {
                            "item_id": i, "at": at + timedelta(minutes=n), "actor": "", "kind": kind,
                            "detail": kind, "data": data, "message_id": i if n == 0 else None,
                        }
                    )  # fmt: skip
                for n in range(2):
                    oid = i * 2 + n
                    outbox.append(
                        {
                            "id": oid, "item_id": i, "purpose": "review-request",
                            "message_id": f"{oid:x}.smat@{DOMAIN}",
                            "mail_from": f"smat.info@{DOMAIN}", "recipients": ["clerk@example.org"], "status": "sent",
                            "attempts": 1, "created_at": at, "next_attempt_at": at, "sent_at": at, "last_error": "",
                            "refused": {},
                        }
                    )  # fmt: skip
                    bodies.append({"outbox_id": oid, "raw": b"x", "parts": [], "packing": ""})
                for who in ("clerk@example.org", "deputy@example.org", "sam@example.org"):
                    keys.append(
                        {
                            "digest": hashlib.sha256(f"{i}:{who}".encode()).hexdigest(), "item_id": i, "email": who,
                            "purpose": "review-request", "issued_at": at, "outbox_id": i * 2, "used_for": [],
                            "revision": 1,
                        }
                    )  # fmt: skip
            conn.execute(insert(Item), rows)
            conn.execute(insert(Message), messages)
            conn.execute(insert(Event), events)
            conn.execute(insert(OutboxMessage), outbox)
            conn.execute(insert(OutboxBody), bodies)
            conn.execute(insert(ReplyKey), keys)
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE events ENABLE TRIGGER USER"))
            conn.execute(text("SELECT setval('items_id_seq', :n)"), {"n": items})
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    del rng
    engine.dispose()


def best_of(times: int, run: Callable[[], Any]) -> float:
    """The fastest of `times` runs, in seconds (the first also warms the caches)."""
    best = float("inf")
    for _ in range(times):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


class Statements:
    """Every statement an engine runs while recording, for the plans."""

    def __init__(self, engine: Any) -> None:
        self.seen: list[tuple[str, Any]] = []
        self.recording = False
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if self.recording and statement.lstrip().upper().startswith("SELECT"):
            self.seen.append((statement, params))

    def plans(self, engine: Any) -> list[str]:
        """Each recorded statement's first line and its plan."""
        out = []
        prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        with engine.connect() as conn:
            for statement, params in self.seen:
                rows = conn.exec_driver_sql(prefix + statement, params).fetchall()
                plan = [str(row[-1]) for row in rows]
                first = " ".join(statement.split())[:150]
                out.append(f"    {first}\n" + "\n".join(f"      {line}" for line in plan))
        return out


def measure(url: str, label: str, show_plans: bool) -> None:
    from support import config_data

    from intake import config
    from intake.digest_mail import preview_digest
    from intake.store import queries
    from intake.store.reply_targets import item_for_message_ids, item_for_reply_key
    from intake.views import items_table

    settings = config.from_dict(config_data(url), Path(tempfile.gettempdir()) / "config.toml")
    engine = make_engine(url)
    sessions = make_sessions(engine)
    with sessions() as session:
        target = session.scalar(text("SELECT max(id) FROM items")) - 3
        key = new_key(SECRET, target, "clerk@example.org")
        session.execute(
            insert(ReplyKey).values(
                digest=key_digest(key), item_id=target, email="clerk@example.org", purpose="review-request",
                issued_at=NOW, outbox_id=target * 2, used_for=[], revision=1,
            )
        )  # fmt: skip
        session.commit()
    recorder = Statements(engine)

    def digest() -> None:
        preview_digest(settings, sessions, NOW)

    def in_review() -> None:
        with sessions() as session:
            items_table(queries.list_items(session, status="in_review"), settings.council.tz)

    def by_key() -> None:
        with sessions() as session:
            found = item_for_reply_key(session, SECRET, [f"smat.info+{key}@{DOMAIN}"], f"smat.info@{DOMAIN}")
            assert found is not None and found.item_id == target

    def by_message_id() -> None:
        with sessions() as session:
            found = item_for_message_ids(session, [f"{target * 2 + 1:x}.smat@{DOMAIN}"], DOMAIN)
            assert found is not None and found.item_id == target

    for name, run, limit in (
        ("digest --print", digest, 1.0),
        ("items --status in_review", in_review, 0.5),
        ("reply matched by reply key", by_key, 0.010),
        ("reply matched by In-Reply-To", by_message_id, 0.010),
    ):
        seconds = best_of(5, run)
        verdict = "met" if seconds <= limit else "NOT MET"
        shown = f"{seconds * 1000:8.1f} ms"
        print(f"  {label:10} {name:30} {shown}   target <= {limit * 1000:.0f} ms: {verdict}")
        if show_plans:
            recorder.seen, recorder.recording = [], True
            run()
            recorder.recording = False
            print("\n".join(recorder.plans(engine)))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=10, help="history lines per item (default 10: 1,000,000)")
    parser.add_argument("--awaiting", type=int, default=40, help="items in review (default 40)")
    parser.add_argument("--database", default="sqlite,postgresql")
    parser.add_argument("--no-plans", action="store_true")
    args = parser.parse_args()
    print(
        f"big history: {args.items} items, {args.items * args.lines} history lines, "
        f"{args.items * 2} outgoing mails, {args.items * 3} reply keys; best of 5"
    )
    tmp = Path(tempfile.mkdtemp(prefix="smat-history-"))
    postgres = None
    try:
        for db in args.database.split(","):
            if db == "sqlite":
                url = f"sqlite:///{tmp / 'history.db'}"
            else:
                from servers import Postgres

                postgres = postgres or Postgres()
                url = str(postgres.create_database())
            t0 = time.perf_counter()
            fill(url, args.items, args.lines, args.awaiting)
            print(f"  {db}: filled in {time.perf_counter() - t0:.0f} s (not measured)")
            measure(url, db, not args.no_plans)
    finally:
        if postgres is not None:
            postgres.drop_all()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
