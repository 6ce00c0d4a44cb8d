"""Nothing a sender writes can crash the service: generated malformed messages are all kept."""

from __future__ import annotations

import random

from samples import draft, golden, winmail_draft
from sqlalchemy import func, select
from support import settings_for

from intake.service import Service
from intake.store.db import make_engine, upgrade
from intake.store.models import Message

SEEDS = [
    draft(photos=1),
    golden("forwarded_with_photo.eml"),
    golden("html_only_draft.eml"),
    golden("odd_structure.eml"),
    winmail_draft(),
]
NASTY = [
    b"\r\n",
    b"\x00",
    b"=?utf-8?q?=0D=0A?=",
    b"--",
    b'boundary="',
    b"Content-Type: message/rfc822\r\n\r\n",
    b"\xff\xfe",
    b":",
    b";",
    b"charset=x-unknown",
]


def mutate(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 8)):
        choice = rng.random()
        pos = rng.randrange(len(data) + 1)
        if choice < 0.3 and data:
            del data[pos : pos + rng.randint(1, 40)]
        elif choice < 0.6:
            data[pos:pos] = rng.choice(NASTY)
        elif choice < 0.8 and data:
            data[pos % len(data)] = rng.randrange(256)
        else:
            cut = rng.randrange(len(data) + 1)
            data = data[:cut]
    return bytes(data)


def test_three_hundred_malformed_messages_crash_nothing_and_are_all_kept(tmp_path, sqlite_url):
    engine = make_engine(sqlite_url)
    upgrade(engine)
    service = Service.build(settings_for(tmp_path, sqlite_url))
    rng = random.Random(20261128)
    for n in range(300):
        raw = mutate(rng.choice(SEEDS), rng)
        outcome = service.ingest(raw, "file", f"fuzz:{n}")
        assert outcome.classification in {"draft", "report", "enquiry", "reply", "automatic", "own", "quarantined"}
        assert not outcome.reason.startswith("internal error"), (n, outcome.reason)  # a bug, not bad input
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 300
    service.close()
    engine.dispose()
