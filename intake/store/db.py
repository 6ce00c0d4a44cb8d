"""Engine and sessions for SQLite (WAL, foreign keys on) or PostgreSQL, and `init` by Alembic."""

from __future__ import annotations

import ast
import functools
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, inspect, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from intake.errors import StorageError
from intake.resources import migrations_dir

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

# The names the rest of the package uses for a unit of work, so that only store/ imports SQLAlchemy:
# code outside store/ writes `from intake.store.db import Engine, Session, Sessions` for its type hints.
Sessions = sessionmaker[Session]
__all__ = [
    "Engine",
    "Session",
    "Sessions",
    "current_revision",
    "head_revision",
    "make_engine",
    "make_sessions",
    "require_current",
    "upgrade",
]


READ_ONLY = "smat_read_only"  # an execution option: this transaction only reads (SQLite: a plain BEGIN)
NOT_WAITING = "smat_not_waiting"  # a PostgreSQL connection whose commits do not wait for the disk


def make_engine(url: str, durable: bool = True, ping_after: float = 5.0) -> Engine:
    """An engine with the settings each backend needs to be safe under concurrent use.

    `durable=False` (for recording deliveries and counting attempts only): commits survive a killed
    process but not a power cut or a server crash (SQLite synchronous=NORMAL, no fsync per commit;
    PostgreSQL synchronous_commit off); what that can undo is a "sent" record, and that mail is then
    sent again with the same Message-ID, or an attempt count, and that message gets one more try.
    `ping_after` (PostgreSQL): a pooled connection idle this many seconds is checked before use.
    """
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            # Every live reply key is in this file: a folder we make is 0700, a file we make 0600.
            # SQLite gives the -wal and -shm files the database file's mode, so they follow it.
            Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Only a file that is not there yet is opened here (O_EXCL): closing any descriptor of a
            # database file drops every POSIX lock this process holds on it, and SQLite's shared lock is
            # what tells another process closing its last connection not to delete the WAL under ours
            # (it then began a new one, and the two processes stopped seeing each other's commits).
            try:
                os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
            except OSError:
                pass  # already there, a folder, or no permission: SQLite reports the last two on connecting
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL lets readers work while one writer commits; foreign keys are off by default.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            if not durable:
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking;
            # a read (READ_ONLY) takes none, so it never waits on a writer nor holds one up.
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    # Not durable: each of its commits is one that need not wait (see commit_without_waiting), no SET LOCAL each
    # time. No HSTORE column here: not looking its type up saves an engine's first connection three round trips.
    connect_args = {} if durable else {"options": "-c synchronous_commit=off"}
    engine = create_engine(url, use_native_hstore=False, connect_args=connect_args)
    if not durable:
        event.listen(engine, "connect", lambda _dbapi_connection, record: record.info.update({NOT_WAITING: True}))
    _ping_when_idle(engine, ping_after)
    return engine


def commit_without_waiting(session: Session) -> None:
    """PostgreSQL: this transaction's commit need not wait for the disk. A killed process cannot undo it,
    a server crash can: only for records whose loss costs a repeat (a mail sent again, a try counted again)."""
    if session.get_bind().dialect.name == "postgresql":
        connection = session.connection()
        if not connection.info.get(NOT_WAITING):
            connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def _ping_when_idle(engine: Engine, seconds: float) -> None:
    """Before lending a pooled connection that has been idle `seconds` or more, check it is alive.

    A server restart or an idle timeout drops pooled connections; a dead one is replaced before
    use. `pool_pre_ping` did this on every checkout: a round trip per transaction, and a message
    takes two. A connection that dies while in steady use fails its statement instead; the pool
    is then emptied and the work tried again (the message stays in the mailbox, or gets 451).
    """

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _rest(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()  # a connection just made is alive: no ping before its first use

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", float("-inf")) < seconds:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()  # the ping began a transaction: a connection wanted in autocommit refused it
        except Exception as exc:  # the pool tries again with a new connection
            raise DisconnectionError(f"a pooled connection was dead: {exc}") from exc


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory; objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["engine"] = engine
    return cfg


# Alembic (about 0.1 s to import, and it loads every migration script to find the newest) is imported
# only by `init` and upgrade(): every other command, and each service start, checks the revision from
# the version table and the scripts' own `revision =` lines.


def upgrade(engine: Engine) -> str:
    """Create or upgrade the schema to the newest migration; safe to run again. Returns the revision."""
    from alembic import command

    cfg = _alembic_config(engine)
    try:
        command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise StorageError(f"the database could not be reached or changed: {exc.orig}") from None
    return head_revision()


@functools.cache  # the scripts on disk do not change while the process runs; reading them took ~8 ms a build
def head_revision() -> str:
    """The newest migration this installation knows."""
    head = _single_head(migrations_dir() / "versions")
    if head is not None:
        return head
    from alembic.script import ScriptDirectory  # what the plain reading could not tell: Alembic's own answer

    found = ScriptDirectory(str(migrations_dir())).get_current_head()
    assert found is not None
    return found


def _single_head(versions: Path) -> str | None:
    """The one revision no script names as its down_revision, read from the scripts' top-level assignments
    without running them; None when that is not plain (a name not given as a literal, or not one head)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        found: dict[str, Any] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                if node.targets[0].id in ("revision", "down_revision", "depends_on"):
                    try:
                        found[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        return None
        revision, down = found.get("revision"), found.get("down_revision")
        if not isinstance(revision, str) or found.get("depends_on") is not None:
            return None
        revisions.add(revision)
        parents.update([down] if isinstance(down, str) else (down or ()))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None if it was never initialised."""
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except OperationalError as exc:
        raise StorageError(f"the database could not be reached: {exc.orig}") from None
    if len(rows) > 1:
        raise StorageError(
            f"the database {engine.url.render_as_string(hide_password=True)} is at several "
            f"revisions at once ({', '.join(sorted(rows))}); it was not made by `smat-intake init`"
        )
    return rows[0] if rows else None


def require_current(engine: Engine) -> None:
    """Refuse to work on a database that `init` has not brought up to date."""
    current = current_revision(engine)
    head = head_revision()
    if current != head:
        state = "has not been initialised" if current is None else f"is at revision {current}, not {head}"
        raise StorageError(
            f"the database {engine.url.render_as_string(hide_password=True)} {state}; run `smat-intake init` first"
        )
