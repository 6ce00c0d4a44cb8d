"""Delivery after a crash: mail claimed by a process killed mid-send goes at once with the next drain.

A real child process drains the outbox into the SMTP sink, which holds DATA so the child is
blocked inside `send`; the child is then SIGKILLed. The next drain must send every row at
once (not after the ten-minute `STALE_CLAIM`); on PostgreSQL two live drains never send the
same row. Everything at the sink is counted by Message-ID.
"""

from __future__ import annotations

import collections
import email.message
import email.policy
import os
import signal
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from servers import Captured, SmtpSink
from sqlalchemy import select, text
from support import TEMPLATES, TOWN_MAILBOX, deliver_due, forked, migrated, wait_until, write_config

from intake.config import load
from intake.delivery.outbox import STALE_CLAIM
from intake.service import Service
from intake.store.models import OutboxMessage, utcnow


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
def setup(tmp_path: Path, database_url: str, sink: SmtpSink) -> Iterator[Callable[[], tuple[Service, Path]]]:
    """Configure [smtp] at the sink on a fresh database; returns a builder of (Service, config path)."""
    services: list[Service] = []
    path = write_config(
        tmp_path,
        database_url=database_url,
        smtp={"host": "127.0.0.1", "port": sink.port, "security": "none", "timeout": 30},
        outbox={"folder": "outbox", "max_attempts": 5, "retry_seconds": 60},
    )
    migrated(load(path).database_url)

    def build() -> tuple[Service, Path]:
        service = Service.build(load(path), template_cache=TEMPLATES)
        services.append(service)
        return service, path

    yield build
    for service in services:
        service.close()


def queue(service: Service, n: int) -> list[str]:
    """Queue n messages, due now, each to its own recipient; their Message-IDs in order."""
    ids = []
    with service.sessions.begin() as session:
        for k in range(n):
            msg = email.message.EmailMessage()
            msg_id = f"{uuid.uuid4().hex}@town.example"
            msg["From"] = TOWN_MAILBOX
            msg["To"] = f"person{k}@example.org"
            msg["Subject"] = "[SMAT-2026-0001] acknowledgement"
            msg["Message-ID"] = f"<{msg_id}>"
            msg.set_content("hello\n")
            session.add(
                OutboxMessage(
                    purpose="acknowledgement",
                    message_id=msg_id,
                    mail_from=TOWN_MAILBOX,
                    recipients=[f"person{k}@example.org"],
                    raw=msg.as_bytes(policy=email.policy.SMTP),
                    status="pending",
                    next_attempt_at=utcnow(),
                )
            )
            ids.append(msg_id)
    return ids


def statuses(service: Service) -> list[str]:
    with service.sessions() as session:
        return list(session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))


def by_message_id(captured: list[Captured]) -> collections.Counter[str]:
    return collections.Counter(str(c.message["Message-ID"]).strip("<>") for c in captured)


@contextmanager
def child_drain(config: Path, log: Path) -> Iterator[Any]:
    """A real child process draining the outbox once, as `smat-intake deliver` does; killed on the way out
    if still running."""
    child = forked(deliver_due, str(config), log=log)
    try:
        yield child
    finally:
        if child.is_alive():
            child.kill()
        child.join(timeout=30)


def no_other_open_transaction(service: Service) -> bool:
    """PostgreSQL: no other connection to this database is inside a transaction (a dead one's is rolled back)."""
    with service.sessions() as session:
        return not session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            )
        )


def kill_inside_send(service: Service, config: Path, sink: SmtpSink, tmp_path: Path) -> None:
    """Start a child drain, wait until it is blocked in DATA at the sink, SIGKILL it, wait for its connection to go."""
    sink.hold_data = True
    with child_drain(config, tmp_path / "child.log") as child:
        try:
            sink.wait_holding(1, timeout=60)
        except TimeoutError:
            raise AssertionError((tmp_path / "child.log").read_text()) from None
        os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=30)
        assert child.exitcode == -signal.SIGKILL
    if service.engine.dialect.name == "postgresql":
        wait_until(
            lambda: no_other_open_transaction(service), timeout=30, what="the killed child's transaction is rolled back"
        )


def test_mail_claimed_by_a_killed_process_is_sent_at_once_by_the_next(setup, sink, tmp_path):
    service, config = setup()
    ids = queue(service, 5)
    kill_inside_send(service, config, sink, tmp_path)
    sink.release(accept=False)  # the dead child's DATA never got its 250: nothing delivered yet
    if service.engine.dialect.name == "sqlite":
        # what the dead process left: its whole batch claimed
        assert statuses(service) == ["sending"] * 5

    nxt, _ = setup()  # the next process: one drain, now, sends every row
    report = nxt.drain.deliver_due()
    assert (report.sent, report.waiting, report.problem) == (5, 0, "")
    assert by_message_id(sink.wait_for(5)) == collections.Counter(ids)
    assert statuses(nxt) == ["sent"] * 5


def test_a_resend_after_a_kill_between_250_and_the_commit_keeps_the_message_id(setup, sink, tmp_path):
    service, config = setup()
    ids = queue(service, 3)
    sink.capture_held = True  # the sink has the first message; the child dies before it hears "250"
    kill_inside_send(service, config, sink, tmp_path)
    sink.release(accept=False)
    assert by_message_id(sink.captured) == collections.Counter(ids[:1])

    nxt, _ = setup()
    assert nxt.drain.deliver_due().sent == 3
    counts = by_message_id(sink.wait_for(4))
    # at least once: the first went twice, with the same Message-ID and the same bytes; the rest once
    assert counts == collections.Counter({ids[0]: 2, ids[1]: 1, ids[2]: 1})
    first = [c.data for c in sink.captured if ids[0] in c.message["Message-ID"]]
    assert first[0] == first[1]


def test_a_kill_in_the_middle_of_a_batch_sends_again_only_the_mail_in_the_relays_hands(setup, sink, tmp_path):
    # On SQLite a batch's sends are recorded together (one write lock a batch); the relay took two
    # before the kill, and the sends noted beside the database keep them from going twice.
    service, config = setup()
    ids = queue(service, 5)
    sink.capture_held, sink.hold_after = True, 2  # two accepted; the third captured, its "250" never heard
    kill_inside_send(service, config, sink, tmp_path)
    sink.release(accept=False)
    assert by_message_id(sink.captured) == collections.Counter(ids[:3])

    nxt, _ = setup()
    assert nxt.drain.deliver_due().sent == 3
    counts = by_message_id(sink.wait_for(6))
    assert counts == collections.Counter({ids[0]: 1, ids[1]: 1, ids[2]: 2, ids[3]: 1, ids[4]: 1})
    assert statuses(nxt) == ["sent"] * 5


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_live_drains_on_postgresql_never_send_the_same_row(setup, sink, tmp_path):
    service, config = setup()
    ids = queue(service, 30)
    sink.hold_data = True
    with (
        child_drain(config, tmp_path / "a.log") as first,
        child_drain(config, tmp_path / "b.log") as second,
    ):
        # both are inside a send at the same moment, each with its own row
        sink.wait_holding(2, timeout=60)
        sink.release(accept=True)
        first.join(timeout=60)
        second.join(timeout=60)
        assert (first.exitcode, second.exitcode) == (0, 0)
    counts = by_message_id(sink.wait_for(30))
    assert counts == collections.Counter(ids)  # every one, each exactly once
    assert statuses(service) == ["sent"] * 30


def test_a_live_claimers_lease_is_kept_until_stale(setup, sink):
    # On PostgreSQL a claim is a row lock; a row left "sending" is an older version's claim, kept as long.
    service, _ = setup()
    assert service.drain.deliver_due().sent == 0  # the drain has started: claims from now on are live ones
    queue(service, 1)
    now = utcnow()
    with service.sessions.begin() as session:
        row = session.scalars(select(OutboxMessage)).one()
        row.status, row.claimed_at = "sending", now

    # a fresh claim belongs to a live sender: leave it
    assert service.drain.deliver_due(now=now + timedelta(minutes=1)).sent == 0
    assert statuses(service) == ["sending"]
    # a claim older than STALE_CLAIM: its sender hung or died; deliver it
    report = service.drain.deliver_due(now=now + STALE_CLAIM + timedelta(seconds=1))
    assert report.sent == 1
    assert statuses(service) == ["sent"]
    assert len(sink.wait_for(1)) == 1
