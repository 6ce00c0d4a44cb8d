"""The SMTP/LMTP listener: 250 only after the commit, 451 when we cannot keep the message."""

from __future__ import annotations

import smtplib

import pytest
from samples import draft
from servers import free_port
from sqlalchemy import select
from support import REVIEWERS, TEMPLATES, migrated, settings_for

from intake.service import Service
from intake.sources.listener import make_listener
from intake.store.models import Item


@pytest.fixture
def running(tmp_path, smtp_sink):
    """A listener on a free port feeding a service on the given database."""
    started = []

    def start(database_url, protocol="smtp", initialise=True):
        settings = settings_for(
            tmp_path, database_url, smtp=smtp_sink, listener_port=free_port(), listener={"protocol": protocol}
        )
        if initialise:
            migrated(database_url)
        service = Service.build(settings, check_schema=initialise, template_cache=TEMPLATES)
        controller = make_listener(settings.listener, service.ingest)
        controller.start()
        started.append((service, controller))
        return service, settings.listener

    yield start
    for service, controller in started:
        controller.stop()
        service.close()


def test_a_draft_sent_by_hand_is_kept_acknowledged_and_sent_for_review(running, database_url, smtp_sink):
    service, listener = running(database_url)
    with smtplib.SMTP(listener.host, listener.port) as client:
        code, _ = client.ehlo()
        refused = client.sendmail("jane@example.com", ["smat.info@example.org"], draft())
        assert refused == {}
    with service.sessions() as session:
        item = session.scalars(select(Item)).one()
    assert (item.kind, item.status, item.sender) == ("draft", "in_review", "jane@example.com")

    service.deliver()
    captured = smtp_sink.wait_for(1 + len(REVIEWERS))
    purposes = sorted((c.message["X-SMAT-Purpose"], c.rcpt_tos[0]) for c in captured)
    assert purposes == [("acknowledgement", "jane@example.com")] + [("review-request", r) for r in sorted(REVIEWERS)]


def test_the_250_carries_the_ref_of_the_committed_item(running, sqlite_url):
    service, listener = running(sqlite_url)
    with smtplib.SMTP(listener.host, listener.port) as client:
        client.ehlo()
        client.mail("jane@example.com")
        client.rcpt("smat.info@example.org")
        code, text = client.data(draft())
    assert code == 250
    with service.sessions() as session:
        ref = session.scalars(select(Item.ref)).one()
    assert ref in text.decode()


def test_storage_failure_answers_451_so_the_sender_retries(running, sqlite_url):
    service, listener = running(sqlite_url, initialise=False)  # no tables: every commit fails
    with smtplib.SMTP(listener.host, listener.port) as client:
        client.ehlo()
        client.mail("jane@example.com")
        client.rcpt("smat.info@example.org")
        code, text = client.data(draft())
    assert code == 451
    assert b"try again" in text


def test_lmtp_answers_once_per_recipient(running, sqlite_url):
    import socket

    service, listener = running(sqlite_url, protocol="lmtp")
    with socket.create_connection((listener.host, listener.port), timeout=10) as sock:
        stream = sock.makefile("rwb")

        def say(line: bytes) -> None:
            stream.write(line + b"\r\n")
            stream.flush()

        def reply() -> bytes:
            lines = [stream.readline()]
            while lines[-1][3:4] == b"-":
                lines.append(stream.readline())
            return lines[-1]

        assert reply().startswith(b"220")
        say(b"LHLO test")
        assert reply().startswith(b"250")
        say(b"MAIL FROM:<jane@example.com>")
        assert reply().startswith(b"250")
        for rcpt in (b"smat.info@example.org", b"smat.info+x@example.org"):
            say(b"RCPT TO:<" + rcpt + b">")
            assert reply().startswith(b"250")
        say(b"DATA")
        assert reply().startswith(b"354")
        stream.write(draft().replace(b"\r\n.", b"\r\n..") + b".\r\n")
        stream.flush()
        first, second = stream.readline(), stream.readline()
        assert first.startswith(b"250") and second.startswith(b"250")
        say(b"QUIT")
    with service.sessions() as session:
        assert len(session.scalars(select(Item)).all()) == 1


def test_a_retried_delivery_of_the_same_bytes_makes_no_second_item(running, sqlite_url, smtp_sink):
    service, listener = running(sqlite_url)
    raw = draft()
    for _ in range(2):  # as a server does when our 250 was lost on the way back
        with smtplib.SMTP(listener.host, listener.port) as client:
            assert client.sendmail("jane@example.com", ["smat.info@example.org"], raw) == {}
    with service.sessions() as session:
        assert len(session.scalars(select(Item)).all()) == 1
    service.deliver()
    assert len(smtp_sink.captured) == 1 + len(REVIEWERS)
