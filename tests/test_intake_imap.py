"""The smat.info mailbox end to end: real Dovecot in, real SMTP out, SQLite and PostgreSQL."""

from __future__ import annotations

import imaplib
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from types import SimpleNamespace

import pytest
from imap_tools import MailBox
from samples import auto_reply, draft, golden, winmail_draft
from servers import Dovecot
from sqlalchemy import func, select
from support import REVIEWERS, self_signed_certificate, settings_data, wait_until

from intake.message import parse
from intake.sources.imap_mail import _already_read, idle_wait
from intake.store.models import Item, MailboxState, Message, OutboxMessage


def count(service, model, *where):
    with service.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def five_drafts():
    return [
        draft(sender="jane@example.com", subject="Litter pick on Saturday"),
        golden("html_only_draft.eml"),
        draft(sender="tom@example.net", name="Tom Baker", subject="Market photos", photos=2),
        golden("forwarded_with_photo.eml"),
        winmail_draft(),
    ]


def test_five_drafts_make_five_items_acknowledgements_and_review_requests(
    mailbox, smtp_sink, database_url, service_for
):
    service = service_for(database_url, imap=mailbox, smtp=smtp_sink)
    source = service.imap_source()
    assert source.poll_once().taken == 0  # first look at an empty mailbox
    raws = five_drafts()
    for raw in raws:
        mailbox.append(raw)

    report = source.poll_once()
    service.deliver()

    assert (report.taken, report.moved) == (5, 5)
    with service.sessions() as session:
        items = session.scalars(select(Item).order_by(Item.id)).all()
        assert [i.kind for i in items] == ["draft"] * 5
        assert [i.status for i in items] == ["in_review"] * 5
        assert [i.ref for i in items] == [f"SMAT-{items[0].year}-{n:04d}" for n in range(1, 6)]
        senders = [parse(raw).sender.email for raw in raws]
        assert [i.sender for i in items] == senders
        assert items[4].sender_role == "councillor"
        pictures = [sum(1 for a in i.attachments if a.content_type.startswith("image/")) for i in items]
    assert pictures[2] == 2 and pictures[3] >= 1  # the photos, and the photo inside the forwarded message
    assert count(service, Item) == 5

    captured = smtp_sink.wait_for(5 + 5 * len(REVIEWERS))
    acks = [c for c in captured if c.message["X-SMAT-Purpose"] == "acknowledgement"]
    requests = [c for c in captured if c.message["X-SMAT-Purpose"] == "review-request"]
    assert sorted(r for c in acks for r in c.rcpt_tos) == sorted(senders)
    assert len(requests) == 5 * len(REVIEWERS)
    for item, n_pictures in zip(items, pictures, strict=True):
        mine = [c for c in requests if c.message["X-SMAT-Ref"] == item.ref]
        assert sorted(r for c in mine for r in c.rcpt_tos) == sorted(REVIEWERS)
        for c in mine:
            attached = [p for p in c.message.iter_attachments() if p.get_content_type().startswith("image/")]
            assert len(attached) == n_pictures
            assert f"[{item.ref}]" in c.message["Subject"]
            assert c.message["Reply-To"].startswith("smat.info+")

    # Every message left the inbox for Processed, and was never marked \Seen by us (PEEK).
    assert mailbox.uids("INBOX") == []
    assert len(mailbox.uids("Processed")) == 5
    with mailbox.connect() as box:
        box.folder.set("Processed")
        assert all("\\Seen" not in m.flags for m in box.fetch(mark_seen=False, headers_only=True))

    # A second poll finds nothing new and sends nothing.
    again = source.poll_once()
    assert (again.taken, again.duplicates) == (0, 0)
    assert service.deliver().sent == 0
    assert count(service, Item) == 5
    assert len(smtp_sink.captured) == 5 + 5 * len(REVIEWERS)


def test_auto_reply_is_kept_but_never_answered(mailbox, smtp_sink, sqlite_url, service_for):
    service = service_for(sqlite_url, imap=mailbox, smtp=smtp_sink)
    source = service.imap_source()
    source.poll_once()
    mailbox.append(auto_reply())
    mailbox.append(golden("bounce_report.eml"))

    assert source.poll_once().taken == 2
    service.deliver()

    assert count(service, Item) == 0
    assert count(service, Message, Message.classification == "automatic") == 2
    assert count(service, OutboxMessage) == 0
    assert smtp_sink.captured == []


def test_mail_already_in_the_mailbox_at_first_run_is_left_alone_until_backlog(
    mailbox, smtp_sink, sqlite_url, service_for, caplog
):
    service = service_for(sqlite_url, imap=mailbox, smtp=smtp_sink)
    for n in range(3):
        mailbox.append(draft(subject=f"Old message {n}"))
    source = service.imap_source()

    first = source.poll_once()
    assert (first.taken, first.left_alone) == (0, 3)
    assert "poll --once --backlog" in caplog.text
    mailbox.append(draft(subject="A new draft"))
    second = source.poll_once()
    assert (second.taken, second.left_alone) == (1, 3)
    assert len(mailbox.uids("INBOX")) == 3

    backlog = source.poll_once(backlog=True)
    assert backlog.taken == 3
    assert mailbox.uids("INBOX") == []
    assert count(service, Item) == 4


def test_kill_after_commit_before_move_makes_no_second_item(mailbox, smtp_sink, sqlite_url, service_for, tmp_path):
    service = service_for(sqlite_url, imap=mailbox, smtp=smtp_sink)
    service.imap_source().poll_once()  # baseline on the empty mailbox
    mailbox.append(draft(subject="Draft that survives a crash"))

    # A real process, killed with SIGKILL at the moment between the commit and the MOVE.
    data, path = settings_data(tmp_path, sqlite_url, imap=mailbox), str(tmp_path / "config.toml")
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(tmp_path.parent)!r})
        from intake import config
        from intake.service import Service
        import intake.sources.imap as imap
        settings = config.from_dict({data!r}, __import__("pathlib").Path({path!r}))
        imap.move_uids = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        Service.build(settings).imap_source().poll_once()
        """
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert child.returncode == -9, child.stderr.decode()
    assert count(service, Item) == 1
    assert len(mailbox.uids("INBOX")) == 1  # committed, not yet moved

    report = service.imap_source().poll_once()

    assert (report.taken, report.duplicates, report.moved) == (0, 1, 1)
    assert count(service, Item) == 1
    assert mailbox.uids("INBOX") == []
    service.deliver()
    assert len(smtp_sink.captured) == 1 + len(REVIEWERS)  # one acknowledgement, not two


def test_position_in_the_folder_is_remembered_with_uidvalidity(mailbox, smtp_sink, sqlite_url, service_for):
    service = service_for(sqlite_url, imap=mailbox, smtp=smtp_sink)
    source = service.imap_source()
    source.poll_once()
    uid = mailbox.append(draft())
    source.poll_once()
    with service.sessions() as session:
        state = session.scalars(select(MailboxState)).one()
    assert state.last_uid == uid
    with mailbox.connect() as box:
        assert state.uidvalidity == int(box.folder.status("INBOX")["UIDVALIDITY"])


def test_unreachable_mailbox_is_one_clear_error(sqlite_url, service_for, tmp_path):
    from servers import free_port

    from intake.errors import MailboxUnreachable

    class Nowhere:
        host, port, user, password = "127.0.0.1", free_port(), "smat.info@example.org", "x"

    service = service_for(sqlite_url, imap=Nowhere)
    with pytest.raises(MailboxUnreachable, match=r"the IMAP server 127\.0\.0\.1:\d+ cannot be reached"):
        service.imap_source().poll_once()


def test_wrong_password_says_so(mailbox, sqlite_url, service_for):
    from intake.errors import MailboxUnreachable

    class WrongPassword:
        host, port, user, password = mailbox.host, mailbox.port, mailbox.user, "not-the-password"

    service = service_for(sqlite_url, imap=WrongPassword)
    with pytest.raises(MailboxUnreachable, match="refused the login"):
        service.imap_source().poll_once()


def test_without_move_only_our_uids_are_expunged_never_the_whole_mailbox(
    mailbox, smtp_sink, sqlite_url, service_for, monkeypatch
):
    import intake.sources.imap as imap

    refresh = imap.refresh_capabilities

    def without_move(box):
        refresh(box)
        box.client.capabilities = tuple(c for c in box.client.capabilities if c != "MOVE")

    monkeypatch.setattr(imap, "refresh_capabilities", without_move)
    service = service_for(sqlite_url, imap=mailbox, smtp=smtp_sink)
    source = service.imap_source()
    source.poll_once()
    someone_elses = mailbox.append(
        draft(subject="Marked deleted by a colleague, not yet expunged"), flags=("\\Deleted",)
    )
    mailbox.append(draft(subject="A draft"))

    report = source.poll_once()

    assert (report.taken, report.moved) == (1, 1)
    assert mailbox.uids("INBOX") == [someone_elses]  # a mailbox-wide EXPUNGE would have removed it
    assert len(mailbox.uids("Processed")) == 1


def test_a_renumbered_folder_is_noticed_and_its_mail_taken_in_once(mailbox, smtp_sink, sqlite_url, service_for, caplog):
    service = service_for(sqlite_url, imap=mailbox, smtp=smtp_sink, overrides={"imap": {"folder": "Drafts"}})
    source = service.imap_source()
    mailbox.append(draft(subject="Before the first look"), folder="Drafts")
    assert source.poll_once().left_alone == 1
    # The server renumbers the folder (here: it is deleted and made again), as after a restore.
    with mailbox.connect() as box:
        box.folder.delete("Drafts")
        box.folder.create("Drafts")
    mailbox.append(draft(subject="After the renumbering"), folder="Drafts")

    report = source.poll_once()

    assert "UIDVALIDITY" in caplog.text
    assert (report.taken, report.left_alone) == (1, 0)
    with service.sessions() as session:
        assert [i.subject for i in session.scalars(select(Item))] == ["After the renumbering"]
        state = session.scalars(select(MailboxState)).one()
    with mailbox.connect() as box:
        assert state.uidvalidity == int(box.folder.status("Drafts")["UIDVALIDITY"])


def test_a_poll_with_nothing_new_asks_status_only_and_new_mail_still_comes_in(
    mailbox, smtp_sink, database_url, service_for
):
    service = service_for(database_url, imap=mailbox, smtp=smtp_sink)
    source = service.imap_source()
    old = mailbox.append(draft(subject="There before the first look"))
    assert (source.poll_once().left_alone, source.poll_once().quiet) == (1, True)

    mailbox.append(draft(subject="A new draft"))
    arrived = source.poll_once()
    assert (arrived.quiet, arrived.taken) == (False, 1)
    assert source.poll_once().quiet

    with mailbox.connect() as box:  # a colleague deletes the old message: the count changes, so we look
        box.delete([str(old)])
    assert not source.poll_once().quiet
    assert source.poll_once().quiet


def test_a_quiet_poll_asks_status_before_any_list_or_select(mailbox, smtp_sink, sqlite_url, service_for, monkeypatch):
    # Dovecot answers a STATUS that follows a LIST in the same session by re-reading the folder's
    # whole uidlist: 0.3 s a poll at 20,000 messages, against 1 ms for a STATUS asked first.
    service = service_for(sqlite_url, imap=mailbox, smtp=smtp_sink)
    source = service.imap_source()
    mailbox.append(draft(subject="There before the first look"))
    source.poll_once()
    sent = []
    command = imaplib.IMAP4._command
    monkeypatch.setattr(
        imaplib.IMAP4, "_command", lambda self, name, *args: sent.append(name) or command(self, name, *args)
    )

    assert source.poll_once().quiet

    assert "STATUS" in sent and not {"LIST", "SELECT", "SEARCH", "UID"} & set(sent), sent


def test_a_pass_that_leaves_mail_behind_is_not_taken_for_quiet(
    mailbox, smtp_sink, sqlite_url, service_for, monkeypatch
):
    import intake.sources.imap as imap

    service = service_for(sqlite_url, imap=mailbox, smtp=smtp_sink)
    source = service.imap_source()
    source.poll_once()
    mailbox.append(draft(subject="Kept, but the move fails"))
    move = imap.move_uids
    calls = []

    def fails_once(box, uids, folder):
        calls.append(uids)
        if len(calls) == 1:
            raise imaplib.IMAP4.error("NO [SERVERBUG] try again")
        return move(box, uids, folder)

    monkeypatch.setattr(imap, "move_uids", fails_once)
    assert (source.poll_once().taken, len(mailbox.uids("INBOX"))) == (1, 1)

    again = source.poll_once()  # the folder looks unchanged since, but the message is still ours to move

    assert (again.quiet, again.duplicates, again.moved) == (False, 1, 1)
    assert mailbox.uids("INBOX") == [] and source.poll_once().quiet


def test_idle_hears_of_mail_that_arrived_just_before_it_began(mailbox):
    # Dovecot answers IDLE with "+ idling" and, in the same packet, the EXISTS of mail appended since the
    # last command. imap-tools read both into imaplib's buffer and waited on the socket, so that mail
    # waited for the IDLE's renewal: ten minutes in production (it missed 10 times in 10 here).
    for attempt in range(3):
        with mailbox.connect() as box:
            box.client.noop()  # the session is up to date: the next mail is news to it
            mailbox.append(draft(subject=f"Just before IDLE {attempt}"))
            started = time.monotonic()
            said = idle_wait(box, timeout=10)
            waited = time.monotonic() - started
        assert any(line.endswith(b" EXISTS") for line in said), said
        assert waited < 5, f"heard of it after {waited:.1f} s"


def test_idle_leaves_a_response_line_only_partly_arrived_for_imaplib_to_finish():
    # A stand-in server (Dovecot cannot be made to split a line): what is already read is taken whole
    # lines only; taking half a line would lose its start and put imaplib out of step with the server.
    listener = socket.create_server(("127.0.0.1", 0))
    answers = []

    def serve() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"* OK ready\r\n")
        tag = conn.recv(1024).split(b" ", 1)[0]  # CAPABILITY
        conn.sendall(b"* CAPABILITY IMAP4rev1 IDLE\r\n" + tag + b" OK done\r\n")
        conn.sendall(b"* 3 EXISTS\r\n* 4 EXI")  # a line and the start of the next, in one packet
        answers.append(conn)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    client = imaplib.IMAP4("127.0.0.1", listener.getsockname()[1], timeout=5)
    server.join(5)
    try:
        wait_until(lambda: client.file.peek().endswith(b"* 4 EXI"), what="both lines in imaplib's buffer")
        assert _already_read(SimpleNamespace(client=client)) == [b"* 3 EXISTS"]
        answers[0].sendall(b"STS\r\n")
        assert client._get_line() == b"* 4 EXISTS"
    finally:
        client.shutdown()
        answers[0].close()
        listener.close()


@pytest.fixture(scope="module")
def tls_dovecot(tmp_path_factory):
    """A Dovecot that also speaks implicit TLS (IMAPS), with a certificate of its own."""
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("imaps"))
    key.chmod(0o644)
    with Dovecot(tls=(cert, key)) as server:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False  # the certificate names no address; it is still the one trusted
        yield server, context


def test_idle_over_tls_hears_of_mail_that_arrived_just_before_it_began_and_the_session_goes_on(tls_dovecot):
    # Over TLS a socket with nothing to read says so with an SSL error, not as a plain socket does:
    # looking at what is already read must end there quietly, and the session stay usable.
    server, context = tls_dovecot
    with MailBox(server.host, server.tls_port, ssl_context=context).login(server.user, server.password) as box:
        box.client.noop()
        started = time.monotonic()
        assert idle_wait(box, timeout=0.5) == []  # nothing came: the wait ends at its timeout
        assert time.monotonic() - started >= 0.5 and box.client.noop()[0] == "OK"
        server.append(draft(subject="Just before IDLE, over TLS"))
        started = time.monotonic()
        said = idle_wait(box, timeout=10)
        assert any(line.endswith(b" EXISTS") for line in said) and time.monotonic() - started < 5, said
        assert box.client.noop()[0] == "OK"
