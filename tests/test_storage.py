"""Storage: the migrations build exactly the models' schema, on SQLite and PostgreSQL; history is append-only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from samples import draft
from sqlalchemy import event, insert, select, text
from sqlalchemy.exc import DatabaseError
from support import ROSTER

from intake.store.db import current_revision, head_revision, make_engine, make_sessions, upgrade
from intake.store.models import Base, Event, Message, OutboxBody, OutboxMessage, utcnow
from intake.store.outbox import claim_due, due_ids


def test_init_twice_is_safe_and_reaches_the_newest_migration(database_url):
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_migrations_match_the_models(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_only_delivery_records_and_attempt_counts_commit_without_waiting_for_the_disk(service_for, database_url):
    # Taking a message in is durable; a lost "sent" record or attempt count costs one repeat at most.
    service = service_for(database_url)
    assert service.delivery_engine is not None
    if database_url.startswith("sqlite"):
        setting, durable, quick = "PRAGMA synchronous", 2, 1  # FULL for intake, NORMAL (no fsync a commit)
    else:
        setting, durable, quick = "SHOW synchronous_commit", "on", "off"  # without a SET LOCAL each time
    for engine, expected in ((service.engine, durable), (service.delivery_engine, quick)):
        with engine.connect() as conn:
            assert conn.execute(text(setting)).scalar() == expected


@contextmanager
def executed(*engines: Any) -> Iterator[list[tuple[str, Any, Any]]]:
    """Every statement the engines send while the block runs, with its parameters and execution context."""
    sent: list[tuple[str, Any, Any]] = []

    def note(_conn, _cursor, statement, parameters, context, _executemany):
        sent.append((statement, parameters, context))

    for engine in engines:
        event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", note)


def test_a_second_draft_is_taken_in_and_delivered_with_statements_compiled_for_the_first(service_for, database_url):
    # SQLAlchemy compiles a statement once and keeps it by its cache key; a statement with no key (the
    # dialects' INSERT … ON CONFLICT) is compiled again for every message, 0.13 ms each time.
    service = service_for(database_url)
    service.ingest(draft(sender="first@example.com", photos=2), "test")
    service.deliver()
    with executed(*{service.engine, service.delivery_engine}) as sent:
        assert service.ingest(draft(sender="second@example.com", subject="Another", photos=2), "test").ref
        assert service.deliver().sent == 4
    compiled = [
        f"{context.cache_hit.name}: {' '.join(statement.split())[:90]}"
        for statement, _, context in sent
        if context is not None and context.compiled is not None and context.cache_hit.name != "CACHE_HIT"
    ]
    assert compiled == []


def test_an_arriving_message_is_looked_for_by_source_key_bytes_and_message_id_in_one_statement(
    service_for, database_url
):
    # On PostgreSQL each statement is a round trip: the three lookups were three, for every message.
    service = service_for(database_url)
    with executed(service.engine) as sent:
        first = service.ingest(raw := draft(), "imap", source_key="imap:1:10")
    reads = [st for st, *_ in sent if st.lstrip().upper().startswith("SELECT") and "FROM messages" in st]
    assert first.ref and len(reads) == 1, reads
    for source_key in ("imap:1:10", "imap:1:11"):  # the same UID, and the same bytes under another
        again = service.ingest(raw, "imap", source_key=source_key)
        assert again.duplicate and again.message_db_id == first.message_db_id


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite sends each RETURNING row apart
def test_a_drafts_acknowledgement_and_review_requests_are_written_in_one_statement_per_table(service_for, database_url):
    # The acknowledgement was written on its own before the three review requests: on PostgreSQL two round
    # trips more for the rows, two for the bodies and two for the history lines, for every draft.
    service = service_for(database_url)
    with executed(service.engine) as sent:
        assert service.ingest(draft(), "test").mail_queued == 4
    inserts = [" ".join(st.split()[:3]) for st, *_ in sent if st.lstrip().upper().startswith("INSERT")]
    assert inserts.count("INSERT INTO outbox") == 1 and inserts.count("INSERT INTO outbox_bodies") == 1, inserts
    assert inserts.count("INSERT INTO events") == 2, inserts  # "received", then the four mails' lines
    with service.sessions() as session:
        lines = session.scalars(select(Event.kind).order_by(Event.id)).all()
    assert lines == ["received", "acknowledged", "review_requested", "review_requested", "review_requested"]


def test_a_draft_with_no_reviewer_to_ask_and_nobody_to_acknowledge_is_kept_as_an_item(service_for, database_url):
    # With no active reviewer on the roster and a sender we cannot write to (non-ASCII), there is no mail to
    # queue: the empty batch was sent to the database as one row of NULLs, refused, and the draft never kept.
    people = [p for p in ROSTER if p["role"] in ("councillor", "staff")]
    service = service_for(database_url, overrides={"people": people})
    outcome = service.ingest(draft(sender="jöe@example.org"), "test")
    assert outcome.ref and outcome.mail_queued == 0
    with service.sessions() as session:
        assert session.scalars(select(Event.kind).order_by(Event.id)).all() == ["received", "not_acknowledged"]


def test_a_new_item_and_its_message_are_written_in_one_flush_with_no_update_after(service_for, database_url):
    # The message was written first and then pointed at its item by an UPDATE: a statement (and on
    # PostgreSQL a round trip) for every item; screening flags were written by a second UPDATE.
    service = service_for(database_url)
    with executed(service.engine) as sent:
        outcome = service.ingest(draft(body="Call Jane on 07700 900123 about it."), "test")  # a flag: personal data
    assert [st for st, *_ in sent if st.lstrip().upper().startswith("UPDATE")] == []
    with service.sessions() as session:
        message = session.get(Message, outcome.message_db_id)
        assert message.item.ref == outcome.ref and message.received_at == message.item.received_at
        assert [flag["rule"] for flag in message.item.flags] == ["personal_data"]


def test_delivery_reads_the_oldest_due_row_in_index_order_without_sorting_the_queue(migrated_url):
    # ORDER BY next_attempt_at, id: PostgreSQL sorted every pending row for each message sent until
    # the index ended with id (migration 0016): 10 ms a message with 4,000 waiting.
    engine = make_engine(migrated_url)
    rows = [
        {
            "purpose": "acknowledgement",
            "message_id": f"m{n}@example.org",
            "mail_from": "smat.info@example.org",
            "recipients": ["x@example.org"],
            "status": "pending",
            "attempts": 0,
            "created_at": utcnow(),
            "next_attempt_at": utcnow(),
        }
        for n in range(2_000)
    ]
    with engine.begin() as conn:
        ids = conn.execute(insert(OutboxMessage).returning(OutboxMessage.id), rows).scalars().all()
        bodies = [{"outbox_id": i, "raw": b"x", "parts": [], "packing": ""} for i in ids]
        conn.execute(insert(OutboxBody), bodies)
        conn.execute(text("ANALYZE"))
    with executed(engine) as sent, make_sessions(engine).begin() as session:
        if engine.dialect.name == "sqlite":
            claim_due(session, utcnow(), 20, timedelta(minutes=10))
        else:
            due_ids(session, utcnow(), 20, timedelta(minutes=10))
    statement, parameters = next((st, p) for st, p, _ in sent if "ORDER BY" in st)
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(explain + statement, parameters))
    engine.dispose()
    assert "ix_outbox_due" in plan and "Sort" not in plan and "TEMP B-TREE" not in plan, plan


def test_item_history_cannot_be_changed_or_deleted(service_for, database_url):
    service = service_for(database_url)
    service.ingest(draft(), "file")
    for statement in ("UPDATE events SET detail = 'forged'", "DELETE FROM events"):
        with pytest.raises(DatabaseError, match="append-only"):
            with service.engine.begin() as conn:
                conn.execute(text(statement))


def test_attachments_are_stored_under_generated_names(service_for, sqlite_url):
    from email.message import EmailMessage

    from intake.store.models import Attachment

    msg = EmailMessage()
    msg["From"] = "jane@example.com"
    msg["To"] = "smat.info@example.org"
    msg["Subject"] = "Photo"
    msg.set_content("See attached")
    msg.add_attachment(b"\xff\xd8\xff\xe0", maintype="image", subtype="jpeg", filename="../../etc/passwd")
    service = service_for(sqlite_url)
    service.ingest(msg.as_bytes(), "file")
    with service.sessions() as session:
        [attachment] = session.scalars(select(Attachment)).all()
        assert attachment.data == b"\xff\xd8\xff\xe0"  # read back from the raw message, kept exactly
    assert "/" not in attachment.filename and ".." not in attachment.filename
    assert attachment.stored_name.endswith(".jpg") and len(attachment.stored_name) == 36


def test_upgrading_from_the_first_schema_keeps_queued_mail(database_url):
    from alembic import command

    from intake.store.db import _alembic_config

    engine = make_engine(database_url)
    command.upgrade(_alembic_config(engine), "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outbox (purpose, message_id, mail_from, recipients, raw, status, attempts, created_at, "
                "next_attempt_at, last_error, refused) VALUES ('acknowledgement', 'm1@example.org', "
                "'smat.info@example.org', "
                "'[\"jane@example.com\"]', :raw, 'pending', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, '', '{}')"
            ),
            {"raw": b"Subject: queued before the upgrade\r\n\r\nhello\r\n"},
        )
    upgrade(engine)
    from sqlalchemy.orm import Session

    from intake.store.models import OutboxMessage

    with Session(engine) as session:
        row = session.query(OutboxMessage).one()
        assert row.raw == b"Subject: queued before the upgrade\r\n\r\nhello\r\n"
        assert row.status == "pending"
    engine.dispose()


def test_a_second_message_under_the_same_source_key_is_a_storage_conflict_and_commits_nothing(migrated_url):
    from intake.arrival import Arrival
    from intake.errors import StorageConflict
    from intake.store import messages
    from intake.store.db import make_sessions
    from intake.store.models import Message
    from intake.store.unit import reading, transaction

    engine = make_engine(migrated_url)
    sessions = make_sessions(engine)
    arrival = Arrival(b"Subject: once\r\n\r\nhello\r\n", "imap", "imap:box:1:7")
    with transaction(sessions) as session:
        messages.keep(session, arrival, "draft", "first")
    with pytest.raises(StorageConflict, match="could not keep it"):
        with transaction(sessions, "keep it") as session:
            messages.keep(session, Arrival(b"other", "file"), "draft", "not committed")
            messages.keep(session, arrival, "draft", "second")
    with reading(sessions) as session:
        assert [row.reason for row in session.scalars(select(Message))] == ["first"]
    assert messages.seen_before(sessions, "imap:box:1:7").reason == "first"
    engine.dispose()


def test_a_database_that_cannot_be_opened_is_a_storage_error_not_a_driver_exception(tmp_path):
    from intake.errors import StorageConflict, StorageError, StorageRejected
    from intake.store.db import make_sessions
    from intake.store.unit import transaction

    engine = make_engine(f"sqlite:///{tmp_path}")  # a directory: SQLite cannot open it
    with pytest.raises(StorageError, match="the database could not take the message") as raised:
        with transaction(make_sessions(engine), "take the message") as session:
            session.execute(text("SELECT 1"))
    assert not isinstance(raised.value, StorageConflict | StorageRejected)  # a retry may succeed; not a bug
    engine.dispose()


@pytest.mark.parametrize("idle_enough", [True, False], ids=["idle-checked", "in-steady-use"])
def test_a_pooled_postgresql_connection_that_died_while_idle_is_replaced_before_use(pg, idle_enough):
    import psycopg
    from support import empty_postgres, release_postgres

    url = empty_postgres(pg)
    engine = make_engine(url, ping_after=0 if idle_enough else 3600)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(dbname="postgres", autocommit=True) as admin:  # a restart, an idle timeout
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

        def use() -> int:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT 1")).scalar_one())

        if idle_enough:
            assert use() == 1  # checked on the way out of the pool, and replaced
        else:  # no round trip for a connection in steady use: the statement fails, and the pool is renewed
            with pytest.raises(DatabaseError):
                use()
            assert use() == 1
    finally:
        engine.dispose()
        release_postgres(pg, url)


def test_a_new_postgresql_connection_is_used_at_once_without_a_ping_or_a_type_lookup(pg, monkeypatch):
    # A connection just made is alive: the pool's ping before its first use, and the dialect's lookup of the
    # HSTORE type (no column of ours has it) were six of the round trips every new service made on starting.
    import psycopg
    from support import empty_postgres, release_postgres

    url = empty_postgres(pg)
    sent: list[str] = []
    execute = psycopg.Cursor.execute

    def noting(self, query, *args, **kwargs):
        sent.append(str(query))
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", noting)
    engine = make_engine(url)  # pings a connection idle 5 s or more
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 42")).scalar_one() == 42
    finally:
        engine.dispose()
        release_postgres(pg, url)
    assert "SELECT 42" in sent
    assert "SELECT 1" not in sent and not [s for s in sent if "typname" in s], sent


def test_on_postgresql_an_attempt_is_counted_in_one_round_trip_even_on_a_connection_just_pinged(pg):
    # The count is committed before any work on a message, so it was BEGIN, the upsert and COMMIT: three round
    # trips of a draft's eighteen. In autocommit it is one. The pool's ping of a connection idle a while
    # began a transaction and left it open, and a connection in a transaction cannot be put in autocommit.
    from support import empty_postgres, release_postgres

    from intake.store import attempts

    url = empty_postgres(pg)
    engine = make_engine(url, durable=False, ping_after=0)  # every checkout pings
    upgrade(engine)
    sent: list[tuple[str, bool]] = []  # read as each statement goes (not by executed(): back in the pool, it is off)
    event.listen(
        engine, "before_cursor_execute", lambda c, cursor, s, *a: sent.append((s, cursor.connection.autocommit))
    )
    try:
        sessions = make_sessions(engine)
        assert [attempts.begin(sessions, "ab" * 32, "imap:k") for _ in range(3)] == [0, 1, 2]
        counts = [autocommit for statement, autocommit in sent if "intake_attempts" in statement]
        assert counts == [True, True, True]
        with engine.connect() as conn:  # committed: another connection sees the count
            assert conn.execute(text("SELECT attempts FROM intake_attempts")).scalar_one() == 3
    finally:
        engine.dispose()
        release_postgres(pg, url)


CHILD_WRITER = """
import sqlite3, sys
first = sqlite3.connect(sys.argv[1])
first.execute("SELECT count(*) FROM ref_counters").fetchone()
first.close()  # were it the database's last connection, SQLite would delete the WAL here
second = sqlite3.connect(sys.argv[1])
second.execute("INSERT INTO ref_counters (year, last) VALUES (1999, 7)")
second.commit()
print("written", flush=True)
sys.stdin.readline()  # stays open (no checkpoint) until the parent has looked
"""


def test_a_second_engine_on_the_file_keeps_the_first_ones_view_of_other_processes_commits(sqlite_url):
    import subprocess
    import sys

    from support import migrated

    migrated_url = migrated(sqlite_url)
    path = migrated_url.removeprefix("sqlite:///")
    first = make_engine(migrated_url)
    with first.connect() as conn:  # a pooled connection, open on the file as a running service's is
        conn.execute(text("SELECT count(*) FROM ref_counters")).scalar_one()
    second = make_engine(migrated_url, durable=False)  # the delivery engine, made next (Service.build)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_WRITER, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "written"
        with first.connect() as conn:
            seen = conn.execute(text("SELECT last FROM ref_counters WHERE year = 1999")).scalar()
    finally:
        child.communicate("\n", timeout=30)
        first.dispose()
        second.dispose()
    assert seen == 7
