"""A sender whose address is not ASCII: the draft is kept and sent for review, the reason is
recorded in its history, and no acknowledgement is queued (no SMTPUTF8 is assumed of the relay)."""

from __future__ import annotations

from sqlalchemy import select
from support import OUR_ADDRESS, REVIEWERS

from intake.store.models import Event, Item, OutboxMessage

SENDER = "jörg@example.de"  # a non-ASCII local part (an IDN domain is another path)


def utf8_draft() -> bytes:
    """A draft as an SMTPUTF8 client sends it: the address in raw UTF-8 in the From header."""
    return (
        f"From: Jörg Müller <{SENDER}>\r\nTo: {OUR_ADDRESS}\r\nSubject: Weihnachtsmarkt\r\n"
        "Message-ID: <markt-1@example.de>\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Der Weihnachtsmarkt öffnet am Samstag.\r\n"
    ).encode()


def test_a_non_ascii_sender_is_kept_and_reviewed_but_not_answered(service_for, migrated_url):
    service = service_for(migrated_url)
    outcome = service.ingest(utf8_draft(), "smtp")

    assert outcome.classification == "draft" and outcome.ref
    with service.sessions() as session:
        item = session.scalars(select(Item)).one()
        assert (item.sender, item.status) == (SENDER, "in_review")
        history = [(e.kind, e.detail) for e in session.scalars(select(Event).where(Event.item_id == item.id))]
        mail = sorted((m.purpose, tuple(m.recipients)) for m in session.scalars(select(OutboxMessage)))
    assert ("not_acknowledged", f"cannot write {SENDER!r} in a mail header (non-ASCII address)") in history
    assert mail == sorted(("review-request", (r,)) for r in REVIEWERS)  # the reviewers hear of it; the sender does not
    assert outcome.mail_queued == len(REVIEWERS)
