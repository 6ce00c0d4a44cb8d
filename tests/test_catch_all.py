"""The catch-all: a bug while processing keeps the raw message, commits nothing half-done, and says where it broke.

A bug in the step that handles a reply is recorded on the item the reply answered; a bug
before any item is known quarantines the message as an item of its own, for the Clerk.
The failing part is handed to the pipeline through its constructor.
"""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest
from samples import draft
from sqlalchemy import func, select
from support import make_service

from intake.pipeline import Pipeline
from intake.render import Composer
from intake.reply_step import ReplyStep
from intake.service import Service
from intake.store.history import add_event
from intake.store.models import Event, Item, Message, OutboxMessage
from intake.vocab import EventKind, Purpose, Status


@pytest.fixture
def service(tmp_path, migrated_url):
    service = make_service(tmp_path, migrated_url)  # a copy of the migrated template: no Alembic run per test
    yield service
    service.close()


class TrippingReplyStep(ReplyStep):
    """Does half its work (a decision line, a new status), then meets a bug."""

    def handle(self, session, item, msg, row, target, files=()):  # noqa: ANN001, ANN201 - same contract as ReplyStep
        add_event(session, item, EventKind.DECISION, "clerk@example.org", "half done", row, command="APPROVE")
        item.status = Status.APPROVED
        session.flush()
        raise RuntimeError("the reply step tripped")


class AcknowledgementFails(Composer):
    """A composer with a bug in one template's context: the acknowledgement cannot be written."""

    def compose(self, purpose, to, context, **options):  # noqa: ANN001, ANN201 - same contract as Composer
        if purpose == Purpose.ACKNOWLEDGEMENT:
            raise RuntimeError("the acknowledgement could not be written")
        return super().compose(purpose, to, context, **options)


def pipeline_with(service: Service, **parts: object) -> Pipeline:
    """The service's pipeline, on the same database, with one part swapped for a faulty one."""
    composer = parts.pop("composer", service.pipeline.composer)
    return Pipeline(service.settings, service.sessions, composer, **parts)  # type: ignore[arg-type]


def count(service: Service, model: type) -> int:
    with service.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def review_request_reply_to(service: Service) -> str:
    with service.sessions() as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.purpose == Purpose.REVIEW_REQUEST).order_by(OutboxMessage.id)
        ).first()
        assert row is not None
        return str(message_from_bytes(row.raw, policy=default)["Reply-To"])


def test_a_bug_in_the_reply_step_is_recorded_on_the_item_it_answered_and_the_reply_is_kept(service):
    first = service.ingest(draft(), "file")
    reply_to = review_request_reply_to(service)
    items_before, outbox_before = count(service, Item), count(service, OutboxMessage)
    reply = draft(sender="clerk@example.org", subject="Re: review", body="APPROVE")

    broken = pipeline_with(service, reply_step=TrippingReplyStep(service.settings, service.pipeline.composer))
    outcome = broken.ingest(reply, "smtp", envelope_recipients=[reply_to])

    assert (outcome.classification, outcome.ref) == (Status.QUARANTINED, first.ref)
    assert "RuntimeError: the reply step tripped" in outcome.reason
    assert (count(service, Item), count(service, OutboxMessage)) == (items_before, outbox_before)  # no new item
    with service.sessions() as session:
        item = session.scalars(select(Item).where(Item.ref == first.ref)).one()
        events = session.scalars(select(Event).where(Event.item_id == item.id).order_by(Event.id)).all()
        kept = session.get(Message, outcome.message_db_id)
        assert kept is not None
        assert item.status == Status.IN_REVIEW  # the half-done approval was rolled back
        assert "half done" not in [e.detail for e in events]
        assert EventKind.DECISION not in [e.kind for e in events]
        failure = events[-1]
        assert failure.kind == EventKind.PROCESSING_FAILED
        assert "RuntimeError: the reply step tripped" in failure.detail
        assert failure.message_id == kept.id
        assert (kept.raw, kept.item_id, kept.classification) == (reply, item.id, Status.QUARANTINED)
        assert kept.reason == outcome.reason and kept.sender == "clerk@example.org"

    # The same bytes again are the same message, already kept (a server's retry makes no second record)...
    assert service.ingest(reply, "smtp", envelope_recipients=[reply_to]).duplicate
    # ...and nothing is left stuck: the member's reply sent again goes through a sound pipeline as usual.
    resent = draft(sender="clerk@example.org", subject="Re: review", body="APPROVE")
    assert resent != reply  # its own Message-ID
    again = service.ingest(resent, "smtp", envelope_recipients=[reply_to])
    assert (again.classification, again.ref) == ("reply", first.ref)
    with service.sessions() as session:
        assert session.scalars(select(Item.status).where(Item.ref == first.ref)).one() != Status.QUARANTINED
        decisions = session.scalars(select(Event).where(Event.kind == EventKind.DECISION)).all()
        assert [(e.actor, e.data["command"]) for e in decisions] == [("clerk@example.org", "APPROVE")]


def test_a_bug_before_any_item_is_known_quarantines_the_message_as_an_item_of_its_own(service):
    faulty = AcknowledgementFails(
        service.pipeline.composer.templates, service.pipeline.composer.from_address, service.pipeline.composer.from_name
    )
    raw = draft(subject="Fun run on Sunday")

    outcome = pipeline_with(service, composer=faulty).ingest(raw, "file")

    assert outcome.classification == Status.QUARANTINED and outcome.ref
    assert outcome.reason == "internal error while processing: RuntimeError: the acknowledgement could not be written"
    assert count(service, OutboxMessage) == 0  # the review requests of the failed attempt were not committed
    with service.sessions() as session:
        item = session.scalars(select(Item).where(Item.ref == outcome.ref)).one()
        assert (item.status, item.quarantine_reason) == (Status.QUARANTINED, outcome.reason)
        assert [e.kind for e in item.events] == [EventKind.QUARANTINED]  # no "received" from the failed attempt
        [kept] = item.messages
        assert (kept.raw, kept.classification) == (raw, Status.QUARANTINED)
