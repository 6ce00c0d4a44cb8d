"""What real mailboxes do to us, against real Dovecot: copies, shared Message-IDs, none at all,
a renumbered folder holding old and new mail, another client's deleted mail, huge threads."""

from __future__ import annotations

import re
import time

from samples import draft
from sqlalchemy import func, select
from support import REVIEWERS

from intake.store.models import Item, MailboxNote, Message, OutboxMessage


def count(service, model, *where):
    with service.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def acknowledgements(captured):
    return [c for c in captured if c.message["X-SMAT-Purpose"] == "acknowledgement"]


def without_message_id(raw: bytes) -> bytes:
    return re.sub(rb"(?im)^Message-ID:[^\r\n]*\r\n", b"", raw, count=1)


def with_message_id(raw: bytes, message_id: str) -> bytes:
    return re.sub(rb"(?im)^Message-ID:[^\r\n]*", b"Message-ID: <" + message_id.encode() + b">", raw, count=1)


def test_the_same_message_delivered_twice_is_one_item_and_one_acknowledgement(
    mailbox, smtp_sink, database_url, service_for
):
    service = service_for(database_url, imap=mailbox, smtp=smtp_sink)
    source = service.imap_source()
    source.poll_once()  # the first look, at an empty inbox
    raw = draft(subject="Bench by the war memorial")
    mailbox.append(raw)
    mailbox.append(raw)  # a second copy: a new UID, the same Message-ID and bytes
    # and a third, as a second delivery path leaves it: trace headers of its own on top
    mailbox.append(b"Received: from mx2.example.com by imap.example.org; Sat, 28 Nov 2026 10:01:00 +0000\r\n" + raw)

    report = source.poll_once()
    service.deliver()

    assert (report.taken, report.duplicates, report.moved) == (1, 2, 3)
    assert count(service, Item) == 1
    assert count(service, Message) == 1
    assert mailbox.uids("INBOX") == [] and len(mailbox.uids("Processed")) == 3
    captured = smtp_sink.wait_for(1 + len(REVIEWERS))
    assert len(acknowledgements(captured)) == 1
    assert len(captured) == 1 + len(REVIEWERS)


def test_two_different_messages_sharing_a_message_id_are_two_items(mailbox, smtp_sink, database_url, service_for):
    service = service_for(database_url, imap=mailbox, smtp=smtp_sink)
    source = service.imap_source()
    source.poll_once()
    shared = "same-id@careless-mailer.example"
    mailbox.append(with_message_id(draft(sender="jane@example.com", subject="Fun run"), shared))
    mailbox.append(with_message_id(draft(sender="tom@example.net", subject="Carol service"), shared))

    report = source.poll_once()
    service.deliver()

    assert (report.taken, report.duplicates) == (2, 0)
    with service.sessions() as session:
        assert sorted(i.subject for i in session.scalars(select(Item))) == ["Carol service", "Fun run"]
    acks = acknowledgements(smtp_sink.wait_for(2 + 2 * len(REVIEWERS)))
    assert sorted(r for c in acks for r in c.rcpt_tos) == ["jane@example.com", "tom@example.net"]


def test_messages_without_a_message_id_are_taken_in(mailbox, smtp_sink, sqlite_url, service_for):
    service = service_for(sqlite_url, imap=mailbox, smtp=smtp_sink)
    source = service.imap_source()
    source.poll_once()
    first = without_message_id(draft(sender="jane@example.com", subject="Allotment open day"))
    second = without_message_id(draft(sender="tom@example.net", subject="Road closure"))
    assert b"Message-ID" not in first
    mailbox.append(first)
    mailbox.append(second)

    report = source.poll_once()

    assert (report.taken, report.duplicates) == (2, 0)
    assert count(service, Item) == 2
    assert count(service, Message, Message.message_id.is_(None)) == 2
    service.deliver()
    assert len(acknowledgements(smtp_sink.wait_for(2 + 2 * len(REVIEWERS)))) == 2


def test_a_renumbered_folder_holding_old_and_new_mail_makes_no_duplicate_and_the_clerk_is_told(
    mailbox, smtp_sink, database_url, service_for, caplog
):
    service = service_for(database_url, imap=mailbox, smtp=smtp_sink, overrides={"imap": {"folder": "Drafts"}})
    source = service.imap_source()
    mailbox.append(draft(subject="Already there"), folder="Drafts")  # created, then the first look
    source.poll_once()
    old = [draft(sender="jane@example.com", subject="Fun run"), draft(sender="tom@example.net", subject="Fete")]
    for raw in old:
        mailbox.append(raw, folder="Drafts")
    assert source.poll_once().taken == 2
    service.deliver()
    smtp_sink.wait_for(2 + 2 * len(REVIEWERS))
    smtp_sink.clear()

    # The folder is restored from a backup: made again (a new UIDVALIDITY) holding the mail
    # already taken in, and new mail arrives with it.
    with mailbox.connect() as box:
        box.folder.delete("Drafts")
        box.folder.create("Drafts")
    for raw in old:
        mailbox.append(raw, folder="Drafts")
    mailbox.append(draft(sender="ann@example.org", subject="New after the restore"), folder="Drafts")

    report = source.poll_once()
    service.deliver()

    assert "UIDVALIDITY" in caplog.text
    assert (report.taken, report.duplicates) == (1, 2)
    assert count(service, Item) == 3
    captured = smtp_sink.wait_for(1 + len(REVIEWERS))
    assert [r for c in acknowledgements(captured) for r in c.rcpt_tos] == ["ann@example.org"]
    assert mailbox.uids("Drafts") == []
    assert count(service, MailboxNote) == 1

    # The Clerk hears of it in the day's digest.
    smtp_sink.clear()
    assert service.send_digest().sent
    service.deliver()
    digest = next(c for c in smtp_sink.wait_for(1) if c.message["X-SMAT-Purpose"] == "digest")
    text = digest.message.get_body(("plain",)).get_content()
    assert "The mailbox (1)" in text
    assert "renumbered the folder Drafts" in text and "not answered twice" in text


def test_another_clients_deleted_message_is_left_where_it_is(mailbox, smtp_sink, sqlite_url, service_for):
    service = service_for(sqlite_url, imap=mailbox, smtp=smtp_sink)
    source = service.imap_source()
    source.poll_once()
    theirs = mailbox.append(draft(subject="Deleted by a colleague, not expunged"), flags=("\\Deleted",))
    mailbox.append(draft(sender="tom@example.net", subject="A draft"))

    report = source.poll_once()

    assert (report.taken, report.moved) == (1, 1)
    assert mailbox.uids("INBOX") == [theirs]  # neither taken in, nor moved, nor expunged (MOVE is offered)
    with mailbox.connect() as box:
        flags = [m.flags for m in box.fetch(mark_seen=False, headers_only=True)]
    assert flags == [("\\Deleted",)]
    assert count(service, Item) == 1


def test_a_references_header_of_300000_message_ids_does_not_slow_a_poll(mailbox, smtp_sink, sqlite_url, service_for):
    service = service_for(sqlite_url, imap=mailbox, smtp=smtp_sink)
    source = service.imap_source()
    source.poll_once()
    ids = " ".join(f"<thread.{n}.{n * 7}@example.com>" for n in range(300_000))
    folded = "\r\n ".join(ids[i : i + 900] for i in range(0, len(ids), 900)).encode()
    raw = draft(subject="A very long thread")
    raw = raw.replace(b"Subject:", b"References: " + folded + b"\r\nSubject:", 1)
    mailbox.append(raw)
    mailbox.append(draft(sender="tom@example.net", subject="The next draft"))

    started = time.monotonic()
    report = source.poll_once()
    elapsed = time.monotonic() - started

    assert report.taken == 2
    assert elapsed < 15, f"a poll took {elapsed:.1f} s"  # about a minute before the header was bounded
    assert count(service, OutboxMessage) > 0


def test_mail_another_instance_moved_first_does_not_stop_this_one_moving_the_rest(mailbox):
    """Two instances on one mailbox move the same batch: the second's UID MOVE meets mail already gone."""
    from intake.sources.imap_mail import move_uids, refresh_capabilities

    first, second = mailbox.append(draft(subject="One")), mailbox.append(draft(subject="Two"))
    with mailbox.connect() as ours, mailbox.connect() as theirs:
        for box in (ours, theirs):
            refresh_capabilities(box)
        if "Processed" not in [f.name for f in ours.folder.list()]:
            ours.folder.create("Processed")
        ours.uids()  # this session has seen both messages
        move_uids(theirs, [first], "Processed")  # the other instance was quicker with the first
        move_uids(ours, [first, second], "Processed")  # must not raise, and must move the second
    assert mailbox.uids("INBOX") == []
    assert len(mailbox.uids("Processed")) == 2
