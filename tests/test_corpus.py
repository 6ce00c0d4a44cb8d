"""Every one of CPython's own email test messages ends as an item, a reply or kept mail: none lost, no crash."""

from __future__ import annotations

import pytest
from samples import cpython_corpus, draft
from sqlalchemy import func, select

from intake.store.models import Item, Message


def test_the_corpus_is_there():
    assert len(cpython_corpus()) == 48


def test_every_cpython_test_message_is_kept_and_accounted_for(service_for, sqlite_url):
    service = service_for(sqlite_url)
    outcomes = {}
    for name, raw in cpython_corpus():
        outcomes[name] = service.ingest(raw, "file", f"file:{name}")
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
    assert kept == len(cpython_corpus())
    for name, raw in cpython_corpus():
        assert raw_back[f"file:{name}"] == raw  # the bytes exactly as received


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\x01\x02", b"not an email at all", b"From: \r\n\r\n"],
    ids=["empty", "binary", "text", "empty-from"],
)
def test_garbage_is_quarantined_with_a_reason_and_the_next_message_still_works(service_for, sqlite_url, raw):
    service = service_for(sqlite_url)
    bad = service.ingest(raw, "file")
    good = service.ingest(draft(), "file")
    assert bad.classification == "quarantined" and bad.reason
    assert good.classification == "draft"
    with service.sessions() as session:
        item = session.scalars(select(Item).where(Item.ref == bad.ref)).one()
        assert item.status == "quarantined"
        assert session.get(Message, bad.message_db_id).raw == raw
