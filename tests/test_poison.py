"""Poison messages: one that fails every time is quarantined after three attempts, and the mail after it goes on.

The attempts are counted in the database before each try, so a message that kills the process
(an interpreter crash, the OOM killer) ends its crash loop too, not only one that raises.
"""

from __future__ import annotations

import subprocess

from samples import draft
from sqlalchemy import func, select
from support import REVIEWERS, settings_data
from test_kill_at_random import Forker

from intake.errors import StorageError
from intake.store.models import IntakeAttempt, Item
from intake.vocab import Status

POISON = "Poison: kills whoever reads it"


def count(service, model, *where):
    with service.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def children_that_die_on_the_poison(tmp_path, database_url, mailbox) -> Forker:
    """A ready parent whose forked children each build the service and poll once, and whose parser SIGKILLs
    the child on the poison message, as a crash would (one parent: the interpreter starts once, not per child)."""
    data, path = settings_data(tmp_path, database_url, imap=mailbox), str(tmp_path / "config.toml")
    prelude = f"""
        import signal
        from pathlib import Path
        from intake import config, pipeline
        from intake.service import Service
        real = pipeline.parse
        def parse(raw):
            if {POISON.encode()!r} in raw:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(raw)
        pipeline.parse = parse
        def COMMAND(words):
            Service.build(config.from_dict({data!r}, Path({path!r}))).imap_source().poll_once()
            return 0
        """
    return Forker(path, subprocess.DEVNULL, prelude=prelude)


def test_a_message_that_kills_the_process_every_time_is_quarantined_on_the_fourth_start(
    mailbox, smtp_sink, database_url, service_for, tmp_path
):
    service = service_for(database_url, imap=mailbox, smtp=smtp_sink)
    service.imap_source().poll_once()  # the first look, at an empty inbox
    mailbox.append(draft(subject=POISON))
    mailbox.append(draft(sender="tom@example.net", subject="Behind the poison"))

    children = children_that_die_on_the_poison(tmp_path, database_url, mailbox)
    try:
        for attempt in (1, 2, 3):
            assert children.run("poll") == -9
            with service.sessions() as session:
                assert session.scalars(select(IntakeAttempt.attempts)).all() == [attempt]
            # The first crash stopped everything; from then on the poison, cut short before, waits until
            # the rest of the inbox is done, so the mail behind it gets through at once.
            assert count(service, Item) == (0 if attempt == 1 else 1)

        # The fourth start does not read it again: it is quarantined, and the next message goes on.
        assert children.run("poll") == 0
    finally:
        children.close()
    with service.sessions() as session:
        items = {i.subject or "(unread)": i for i in session.scalars(select(Item))}
        assert session.scalars(select(IntakeAttempt)).all() == []
    assert items["(unread)"].status == Status.QUARANTINED
    assert "started 3 times and never finished" in items["(unread)"].quarantine_reason
    assert items["Behind the poison"].status == Status.IN_REVIEW
    assert mailbox.uids("INBOX") == []
    service.deliver()
    captured = smtp_sink.wait_for(1 + len(REVIEWERS))
    acks = [c for c in captured if c.message["X-SMAT-Purpose"] == "acknowledgement"]
    assert [r for c in acks for r in c.rcpt_tos] == ["tom@example.net"]  # the poison's sender is not written to


def test_a_message_the_database_refuses_every_time_stops_blocking_the_inbox_after_three_tries(
    mailbox, smtp_sink, sqlite_url, service_for, monkeypatch
):
    service = service_for(sqlite_url, imap=mailbox, smtp=smtp_sink)
    source = service.imap_source()
    source.poll_once()
    mailbox.append(draft(subject=POISON))
    mailbox.append(draft(sender="tom@example.net", subject="Behind the poison"))
    real = service.pipeline._process

    def refuse_the_poison(session, arrival, read, progress):
        if POISON.encode() in arrival.raw:
            raise StorageError("the database could not take the message: disk I/O error")
        return real(session, arrival, read, progress)

    monkeypatch.setattr(service.pipeline, "_process", refuse_the_poison)
    for _ in range(3):
        try:
            source.poll_once()
        except StorageError:
            pass
        else:
            raise AssertionError("a storage failure must leave the message in the inbox to be tried again")
    assert count(service, Item) == 1  # the mail behind it went on, the poison was tried last
    assert mailbox.uids("INBOX") != []

    report = source.poll_once()

    assert (report.taken, report.moved) == (1, 1)
    assert count(service, Item, Item.status == Status.QUARANTINED) == 1
    assert count(service, Item, Item.subject == "Behind the poison") == 1
    assert mailbox.uids("INBOX") == []


def test_an_ordinary_message_leaves_no_attempt_behind(mailbox, smtp_sink, sqlite_url, service_for):
    service = service_for(sqlite_url, imap=mailbox, smtp=smtp_sink)
    source = service.imap_source()
    source.poll_once()
    mailbox.append(draft())
    assert source.poll_once().taken == 1
    assert count(service, IntakeAttempt) == 0
