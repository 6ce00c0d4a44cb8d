"""Nothing a sender writes can crash the service: generated malformed messages are all kept."""

from __future__ import annotations

import pytest
from samples import draft, golden, mutations, winmail_draft
from sqlalchemy import func, select

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


@pytest.mark.slow  # a long proof: scripts/test runs it after the product suite
def test_three_hundred_malformed_messages_crash_nothing_and_are_all_kept(service_for, sqlite_url):
    service = service_for(sqlite_url)
    for n, raw in enumerate(mutations(SEEDS, NASTY, count=300, seed=20261128)):
        outcome = service.ingest(raw, "file", f"fuzz:{n}")
        assert outcome.classification in {"draft", "report", "enquiry", "reply", "automatic", "own", "quarantined"}
        assert not outcome.reason.startswith("internal error"), (n, outcome.reason)  # a bug, not bad input
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 300
