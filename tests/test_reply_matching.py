"""A reply to mail we sent is attached to its item, never made a new item, and never answered."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest
from samples import draft
from sqlalchemy import func, select
from support import OUR_ADDRESS

from intake.store.models import Event, Item, OutboxMessage
from intake.store.reply_targets import item_for_message_ids, item_for_ref, item_for_reply_key
from intake.vocab import MatchedBy


@pytest.fixture
def service(service_for, database_url):
    return service_for(database_url)


def sent(service, purpose):
    with service.sessions() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.purpose == purpose).order_by(OutboxMessage.id)
        ).all()
    return [message_from_bytes(r.raw, policy=default) for r in rows]


def totals(service):
    with service.sessions() as session:
        return session.scalar(select(func.count()).select_from(Item)), session.scalar(
            select(func.count()).select_from(OutboxMessage)
        )


def test_reply_to_a_review_request_by_its_plus_address_attaches_to_the_item(service):
    first = service.ingest(draft(), "file")
    request = sent(service, "review-request")[0]
    items_before, _ = totals(service)
    reply = draft(sender="clerk@example.org", subject="Re: whatever the client made of it", body="APPROVE")
    outcome = service.ingest(reply, "smtp", envelope_recipients=[request["Reply-To"]])
    assert (outcome.classification, outcome.ref) == ("reply", first.ref)
    assert totals(service)[0] == items_before  # no new item
    with service.sessions() as session:
        item = session.scalars(select(Item).where(Item.ref == first.ref)).one()
        decisions = session.scalars(select(Event).where(Event.item_id == item.id, Event.kind == "decision")).all()
    assert [(e.actor, e.data["command"], e.data["accepted"], e.data["matched_by"]) for e in decisions] == [
        ("clerk@example.org", "APPROVE", True, "key")
    ]


def test_reply_that_lost_the_plus_address_is_matched_by_in_reply_to(service):
    first = service.ingest(draft(), "file")
    ack = sent(service, "acknowledgement")[0]
    reply = draft(
        subject="Re: thanks",
        body="One more photo to follow",
        In_Reply_To=ack["Message-ID"],
        References=ack["Message-ID"],
    )
    outcome = service.ingest(reply, "file")
    assert (outcome.classification, outcome.ref) == ("reply", first.ref)


def test_a_forged_reply_key_matches_nothing(service):
    service.ingest(draft(), "file")
    forged = OUR_ADDRESS.replace("@", "+" + "a" * 29 + "@")
    outcome = service.ingest(
        draft(sender="mallory@example.net", subject="Re: review"), "smtp", envelope_recipients=[forged]
    )
    assert outcome.classification == "draft"  # treated as a new submission, not as a reply to the item


def test_each_way_of_finding_the_item_says_how_in_the_vocabulary(service):
    first = service.ingest(draft(), "file")
    request = sent(service, "review-request")[0]
    settings = service.settings
    with service.sessions() as session:
        by_key = item_for_reply_key(session, settings.security.secret, [request["Reply-To"]], OUR_ADDRESS)
        by_id = item_for_message_ids(session, [request["Message-ID"].strip("<>")], settings.mailbox.domain)
        by_subject = item_for_ref(session, first.ref.lower())
        item_id = session.scalars(select(Item.id).where(Item.ref == first.ref)).one()
    found = [(t.item_id, t.matched_by) for t in (by_key, by_id, by_subject)]
    assert found == [(item_id, MatchedBy.KEY), (item_id, MatchedBy.MESSAGE_ID), (item_id, MatchedBy.SUBJECT)]
    assert by_key.key is not None and by_key.key.email == "clerk@example.org"
    assert by_id.key == by_key.key  # the reviewer's key travels with the message it was sent in
