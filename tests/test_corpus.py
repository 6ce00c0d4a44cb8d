"""Every one of CPython's own email test messages ends as an item, a reply or kept mail: none lost, no crash."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import test.test_email
from samples import draft
from sqlalchemy import func, select
from support import settings_for

from intake.service import Service
from intake.store.db import make_engine, upgrade
from intake.store.models import Item, Message

CORPUS = Path(os.path.dirname(test.test_email.__file__)) / "data"
FILES = sorted(p for p in CORPUS.glob("msg_*.txt"))


def test_the_corpus_is_there():
    assert len(FILES) >= 40


def test_every_cpython_test_message_is_kept_and_accounted_for(tmp_path, sqlite_url):
    settings = settings_for(tmp_path, sqlite_url)
    engine = make_engine(sqlite_url)
    upgrade(engine)
    service = Service.build(settings)
    outcomes = {}
    for path in FILES:
        outcomes[path.name] = service.ingest(path.read_bytes(), "file", f"file:{path.name}")
    with service.sessions() as session:
        kept = session.scalar(select(func.count()).select_from(Message))
        rows = session.scalars(select(Message)).all()
        for row in rows:
            assert row.classification in {"draft", "report", "enquiry", "reply", "automatic", "own", "quarantined"}
            if row.classification in {"draft", "report", "enquiry", "quarantined"}:
                assert row.item_id is not None, row.source_key
            if row.classification == "quarantined":
                item = session.get(Item, row.item_id)
                assert item.status == "quarantined" and item.quarantine_reason
        raw_back = {row.source_key: row.raw for row in rows}
    assert kept == len(FILES)
    for path in FILES:
        assert raw_back[f"file:{path.name}"] == path.read_bytes()  # the bytes exactly as received
    service.close()
    engine.dispose()


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\x01\x02", b"not an email at all", b"From: \r\n\r\n"],
    ids=["empty", "binary", "text", "empty-from"],
)
def test_garbage_is_quarantined_with_a_reason_and_the_next_message_still_works(tmp_path, sqlite_url, raw):

    settings = settings_for(tmp_path, sqlite_url)
    engine = make_engine(sqlite_url)
    upgrade(engine)
    service = Service.build(settings)
    bad = service.ingest(raw, "file")
    good = service.ingest(draft(), "file")
    assert bad.classification == "quarantined" and bad.reason
    assert good.classification == "draft"
    with service.sessions() as session:
        item = session.scalars(select(Item).where(Item.ref == bad.ref)).one()
        assert item.status == "quarantined"
        assert session.get(Message, bad.message_db_id).raw == raw
    service.close()
    engine.dispose()
