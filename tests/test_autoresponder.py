"""A naive autoresponder left running against us does not keep a loop going (issue 12, Loops).

It does not mark its mail as automatic, so only the per-sender cap on automatic replies
([intake] automatic_replies_per_day, default 3) stands between it and us.
"""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from samples import draft
from sqlalchemy import select
from support import make_service

from intake.service import Service
from intake.store.models import Item, OutboxMessage, utcnow

ROBOT = "robot@example.net"


@pytest.fixture
def service(tmp_path, database_url):
    service = make_service(tmp_path, database_url)
    yield service
    service.close()


def mail_to(service: Service, address: str) -> list[EmailMessage]:
    """Everything queued to *address*, oldest first (only that mail is parsed: the outbox grows with each turn)."""
    with service.sessions() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        found = [message_from_bytes(r.raw, policy=default) for r in rows if address in r.recipients]  # type: ignore[misc]
    return [m for m in found if any(a.addr_spec == address for a in m["To"].addresses)]


def answer(ours: EmailMessage, n: int) -> bytes:
    """The robot's reply to one of our mails: threaded, a new subject's worth of words, no automatic marks."""
    return draft(
        sender=ROBOT,
        name="Robot",
        subject=f"Re: {ours['Subject']}",
        body=f"Thank you for your message ({n}). This inbox is not monitored.",
        In_Reply_To=ours["Message-ID"],
        References=ours["Message-ID"],
    )


def test_fifty_unmarked_drafts_in_a_row_get_at_most_the_daily_cap(service):
    for n in range(50):
        service.ingest(draft(sender=ROBOT, name="Robot", subject=f"Ticket #{n} received", body=f"Ticket {n}"), "smtp")
    assert len(mail_to(service, ROBOT)) == 3


def test_a_robot_answering_each_of_our_mails_gets_at_most_the_daily_cap(service):
    service.ingest(draft(sender=ROBOT, name="Robot", subject="Your ticket", body="We received your enquiry."), "smtp")
    answered = 0
    for n in range(50):
        ours = mail_to(service, ROBOT)
        if answered == len(ours):
            service.ingest(draft(sender=ROBOT, name="Robot", subject=f"Ticket #{n}", body=f"Ticket {n}"), "smtp")
            continue
        service.ingest(answer(ours[answered], n), "smtp")
        answered += 1
    assert len(mail_to(service, ROBOT)) <= 3


def test_the_cap_is_a_day_s_not_an_hour_s(service):
    if utcnow().astimezone(service.settings.council.tz).hour < 2:
        pytest.skip("an hour back from now would be yesterday")
    for n in range(3):
        service.ingest(draft(sender=ROBOT, subject=f"Ticket #{n}", body=f"Ticket {n}"), "smtp")
    with service.sessions() as session, session.begin():
        for item in session.scalars(select(Item)):
            item.received_at -= timedelta(minutes=61)  # an hour on, still the same day (unless midnight passed)
    service.ingest(draft(sender=ROBOT, subject="Ticket #3", body="Ticket 3"), "smtp")
    assert len(mail_to(service, ROBOT)) == 3


def test_the_daily_cap_is_configurable(tmp_path, database_url):
    service = make_service(tmp_path, database_url, intake={"automatic_replies_per_day": 1})
    try:
        for n in range(5):
            service.ingest(draft(sender=ROBOT, subject=f"Ticket #{n}", body=f"Ticket {n}"), "smtp")
        assert len(mail_to(service, ROBOT)) == 1
    finally:
        service.close()


def test_people_on_the_roster_are_not_capped(service):
    for n in range(5):
        service.ingest(draft(sender="cllr.jones@example.org", subject=f"Post {n}", body=f"Draft {n}"), "smtp")
    assert len(mail_to(service, "cllr.jones@example.org")) == 5
