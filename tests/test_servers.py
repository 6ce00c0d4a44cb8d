"""The test servers themselves work (tests/servers.py, tests/conftest.py, support.py).

Testbed self-tests, not product tests: scripts/test runs them first, as a precondition, and
keeps them out of the product suite's count (marker ``testbed``).
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest
from sqlalchemy import create_engine, inspect, text

pytestmark = pytest.mark.testbed


def _raw(subject: str, body: str = "Hello.\r\n") -> bytes:
    return (
        f"From: Alice <alice@example.org>\r\nTo: smat.info@example.org\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{subject.replace(' ', '-')}@example.org>\r\n"
        f"\r\n{body}"
    ).encode()


# --- Dovecot ---------------------------------------------------------------------------


def test_mailbox_append_and_read_back(mailbox):
    assert mailbox.uids() == []
    first = mailbox.append(_raw("one"))
    second = mailbox.append(_raw("two"))
    assert mailbox.uids() == [first, second]
    assert first < second
    raws = mailbox.fetch_raw()
    assert [r.split(b"Subject: ")[1].split(b"\r\n")[0] for r in raws] == [b"one", b"two"]
    assert raws[0] == _raw("one")


def test_mailbox_append_creates_folder(mailbox):
    folder = "Archive"
    mailbox.append(_raw("kept"), folder=folder)
    assert folder in mailbox.folders()
    assert len(mailbox.uids(folder)) == 1
    assert mailbox.uids() == []


def test_mailbox_starts_empty(mailbox):
    # runs after the tests above in the same session: clear() removed their mail and folders
    mailbox.append(_raw("left behind"), folder="Junk")
    mailbox.clear()
    assert mailbox.uids() == []
    assert mailbox.folders() == ["INBOX"]


def test_fetch_raw_does_not_mark_seen(mailbox):
    mailbox.append(_raw("unread"))
    mailbox.fetch_raw()
    with mailbox.connect() as mb:
        (msg,) = mb.fetch(mark_seen=False)
    assert "\\Seen" not in msg.flags


def test_dovecot_capabilities(mailbox):
    with mailbox.connect() as mb:
        typ, data = mb.client.capability()  # the list after LOGIN, not the greeting's
    caps = set(data[0].decode().upper().split())
    assert {"IDLE", "MOVE", "UIDPLUS"} <= caps


def test_wrong_password_refused(mailbox):
    from imap_tools import MailBoxUnencrypted
    from imap_tools.errors import MailboxLoginError

    with pytest.raises(MailboxLoginError):
        MailBoxUnencrypted(mailbox.host, mailbox.port).login(mailbox.user, "wrong")


def test_add_user(mailbox):
    mailbox.add_user("second@example.org", "pw2")
    mailbox.append(_raw("for second"), user="second@example.org")
    assert len(mailbox.uids(user="second@example.org")) == 1
    assert mailbox.uids() == []


# --- SMTP sink -------------------------------------------------------------------------


def _send(sink, msg: EmailMessage, **kw):
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
        return client.send_message(msg, **kw)


def _message(to: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "smat.info@example.org"
    msg["To"] = ", ".join(to)
    msg["Subject"] = "Ihre Einreichung ✓"
    msg.set_content("Grüße aus dem Rathaus.\n")
    return msg


def test_sink_captures(smtp_sink):
    _send(smtp_sink, _message(["bob@example.org", "carol@example.org"]))
    (captured,) = smtp_sink.wait_for(1)
    assert captured.mail_from == "smat.info@example.org"
    assert captured.rcpt_tos == ["bob@example.org", "carol@example.org"]
    assert captured.message["Subject"] == "Ihre Einreichung ✓"
    assert captured.message.get_content().rstrip() == "Grüße aus dem Rathaus."
    assert b"Subject:" in captured.data


def test_sink_rejects_one_recipient(smtp_sink):
    smtp_sink.reject_rcpt["nobody@example.org"] = "550 5.1.1 no such user"
    refused = _send(smtp_sink, _message(["nobody@example.org", "bob@example.org"]))
    assert refused == {"nobody@example.org": (550, b"5.1.1 no such user")}
    (captured,) = smtp_sink.wait_for(1)
    assert captured.rcpt_tos == ["bob@example.org"]


def test_sink_temporary_rcpt_failure(smtp_sink):
    smtp_sink.reject_rcpt["bob@example.org"] = "451 4.3.0 try later"
    with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
        _send(smtp_sink, _message(["bob@example.org"]))
    assert info.value.recipients == {"bob@example.org": (451, b"4.3.0 try later")}
    assert smtp_sink.captured == []


def test_sink_data_response(smtp_sink):
    smtp_sink.data_response = "451 4.3.0 busy"
    with pytest.raises(smtplib.SMTPDataError) as info:
        _send(smtp_sink, _message(["bob@example.org"]))
    assert info.value.smtp_code == 451
    assert smtp_sink.captured == []
    smtp_sink.data_response = None
    _send(smtp_sink, _message(["bob@example.org"]))
    assert len(smtp_sink.wait_for(1)) == 1


def test_sink_wait_for_times_out(smtp_sink):
    with pytest.raises(TimeoutError):
        smtp_sink.wait_for(1, timeout=0.2)


# --- databases -------------------------------------------------------------------------


def test_database_url_is_empty_and_connectable(database_url, request):
    backend = request.node.callspec.params["database_url"]
    assert database_url.startswith("sqlite:///" if backend == "sqlite" else "postgresql+psycopg:///")
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
            assert inspect(conn).get_table_names() == []
    finally:
        engine.dispose()


def test_postgres_databases_are_separate(pg):
    a, b = pg.create_database(), pg.create_database()
    assert a != b
    engine = create_engine(a)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x int)"))
    finally:
        engine.dispose()
    engine = create_engine(b)
    try:
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == []
    finally:
        engine.dispose()


def test_sqlite_url(sqlite_url):
    engine = create_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


SCHEMA_CHANGES = {
    "a column added": "ALTER TABLE items ADD COLUMN probe integer",
    "a column made NOT NULL": "ALTER TABLE items ALTER COLUMN decided_at SET NOT NULL",
    "a column's type": "ALTER TABLE items ALTER COLUMN sender_name TYPE varchar(400)",
    "an index added": "CREATE INDEX probe ON items (subject)",
    "an index made partial": "DROP INDEX ix_outbox_due;"
    " CREATE INDEX ix_outbox_due ON outbox (status, next_attempt_at, id) WHERE status = 'pending'",
    "a constraint dropped": "ALTER TABLE events DROP CONSTRAINT events_item_id_fkey",
    "a table added": "CREATE TABLE probe (x int)",
    "a sequence added": "CREATE SEQUENCE probe",
    "another migration": "UPDATE alembic_version SET version_num = '0001'",
}


@pytest.mark.parametrize("change", list(SCHEMA_CHANGES), ids=list(SCHEMA_CHANGES))
def test_a_postgres_database_whose_schema_a_test_changed_is_not_handed_to_another(pg, change):
    import support

    url = support.new_migrated_postgres(pg)
    name = url.rsplit("/", 1)[-1]
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(SCHEMA_CHANGES[change]))
    finally:
        engine.dispose()
    support.release_postgres(pg, url)
    assert name not in support._ready and name not in support._empty


def test_a_released_postgres_database_comes_back_without_rows_and_with_its_counters_restarted(pg):
    import support

    url = support.new_migrated_postgres(pg)
    name = url.rsplit("/", 1)[-1]
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO ref_counters (year, last) VALUES (2026, 7)"))
            conn.execute(text("SELECT nextval('events_id_seq'), nextval('events_id_seq')"))
    finally:
        engine.dispose()
    support.release_postgres(pg, url)
    assert support._ready[-1] == name
    engine = handed_out_again_without_rows(pg, url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT nextval('events_id_seq')")).scalar() == 1
    finally:
        engine.dispose()
    support.release_postgres(pg, url)


def handed_out_again_without_rows(pg, url: str):
    """The next migrated database asked for is `url` again, and empty; an engine on it, for more checks."""
    import support

    assert support.new_migrated_postgres(pg) == url
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ref_counters")).scalar() == 0
    return engine


def test_a_postgres_database_still_connected_to_when_its_test_ends_is_reused_once_let_go(pg, monkeypatch):
    # A service closed by a fixture torn down after the database's is let go a moment later: the database
    # is emptied then, at the next test's asking, not dropped and made again.
    import support

    dropped: list[str] = []
    drop_later = pg.drop_later
    monkeypatch.setattr(pg, "drop_later", lambda url: dropped.append(url) or drop_later(url))
    url = support.new_migrated_postgres(pg)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO ref_counters (year, last) VALUES (2026, 7)"))
        support.release_postgres(pg, url)  # the engine's connection is still open
        assert url.rsplit("/", 1)[-1] not in support._ready and dropped == []
    finally:
        engine.dispose()
    engine = handed_out_again_without_rows(pg, url)
    try:
        support.release_postgres(pg, url)  # still connected at the next asking as well: dropped
        other = support.empty_postgres(pg)
        assert other != url and dropped == [url]
    finally:
        engine.dispose()
    support.release_postgres(pg, other)
