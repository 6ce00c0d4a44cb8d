"""Outbound faults through the whole service: the relay down for many minutes, and mail it refuses for good.

(test_delivery.py holds the drain's own cases: a 4xx retried, a 5xx failed, one recipient of two refused.)
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from samples import draft
from servers import SmtpSink, free_port
from sqlalchemy import select
from support import REVIEWERS

from intake.digest_mail import preview_digest
from intake.store.models import OutboxMessage, utcnow


class Relay:
    """Where the relay will be: a fixed port, with nothing listening until a sink starts on it."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.port = free_port()


def outbox(service):
    with service.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_relay_down_for_many_minutes_mail_waits_is_retried_with_backoff_and_delivered_once(sqlite_url, service_for):
    relay = Relay()
    service = service_for(sqlite_url, smtp=relay, outbox={"retry_seconds": 60})
    service.ingest(draft(subject="Relay down"), "file")
    expected = len(outbox(service))
    assert expected == 1 + len(REVIEWERS)

    # Down for over fifteen minutes: a drain at every moment something is due. Each drain tries one
    # message (the relay cannot be reached, so the rest of the batch waits untouched), and each
    # message's next try comes later every time: 1, 2, 4, 8 minutes.
    start = now = utcnow()
    gaps: dict[int, list[float]] = {}
    while now < start + timedelta(minutes=16):
        before = {r.id: r.attempts for r in outbox(service)}
        report = service.drain.deliver_due(now=now)
        assert report.sent == 0 and "cannot be reached" in report.problem
        assert report.waiting == expected
        for r in outbox(service):
            if r.attempts > before[r.id]:
                gaps.setdefault(r.id, []).append((r.next_attempt_at - now).total_seconds())
        now = max(now, min(r.next_attempt_at for r in outbox(service)))
    assert len(gaps) == expected
    for tried in gaps.values():
        assert tried == [60 * 2**n for n in range(len(tried))] and len(tried) >= 3, gaps
    assert {r.status for r in outbox(service)} == {"pending"}

    with SmtpSink(port=relay.port) as sink:  # the relay is back, on the same address
        report = service.drain.deliver_due(now=now)
        assert (report.sent, report.waiting, report.problem) == (expected, 0, "")
        captured = sink.wait_for(expected)
        assert service.drain.deliver_due(now=now + timedelta(hours=3)).sent == 0
    per_id = Counter(c.message["Message-ID"] for c in captured)
    assert len(per_id) == expected and set(per_id.values()) == {1}  # each delivered once
    assert {r.status for r in outbox(service)} == {"sent"}


def test_mail_the_relay_refuses_for_good_is_failed_and_in_the_clerks_digest(sqlite_url, service_for, smtp_sink):
    service = service_for(sqlite_url, smtp=smtp_sink)
    outcome = service.ingest(draft(sender="jane@example.com", subject="Refused"), "file")
    smtp_sink.data_response = "554 5.7.1 Message rejected as spam"

    report = service.drain.deliver_due()

    assert report.failed == 1 + len(REVIEWERS)
    assert {r.status for r in outbox(service)} == {"failed"}
    text = preview_digest(service.settings, service.sessions).as_text()
    assert "Mail not delivered or waiting over an hour (4)" in text
    assert f"acknowledgement about {outcome.ref} to jane@example.com could not be delivered" in text
    assert "554 5.7.1 Message rejected as spam" in text
    assert "mail problem" in preview_digest(service.settings, service.sessions).subject
