"""The one home of test support: roster, addresses, config builder, service factory, waits.

Nothing here starts a mail server (that is ``servers.py``, wired up by ``conftest.py``); the
mail fed to the service (drafts, golden files, corpora, mutations) is in ``samples.py``.
Databases: ``migrated(url)`` brings an empty database to the newest migration by copying a
template migrated once per session (a file copy for SQLite, ``CREATE DATABASE … TEMPLATE``
for PostgreSQL), so Alembic runs once per session, not once per test.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intake.render import TemplateCache

if TYPE_CHECKING:
    from email.message import EmailMessage

    from intake.config import Settings
    from intake.service import Service

# Compiled templates shared by every service the tests build: each template is compiled once
# per worker, not once per test (compiling was about a third of a reply test's time).
TEMPLATES = TemplateCache()

# --- the roster and addresses -------------------------------------------------------------
# Two rosters, because tests spell their addresses out: ROSTER (example.org) is the one the
# service tests use; TOWN_ROSTER (town.example) is the one written into config files for the
# config, CLI and delivery tests.

OUR_ADDRESS = "smat.info@example.org"
SECRET = "test-secret-0123456789abcdef"
ROSTER: list[dict[str, Any]] = [
    {"name": "Town Clerk", "email": "clerk@example.org", "role": "clerk"},
    {"name": "Deputy Clerk", "email": "deputy@example.org", "role": "deputy_clerk"},
    {"name": "Sam Smat", "email": "sam@example.org", "role": "smat"},
    {"name": "Former Member", "email": "gone@example.org", "role": "smat", "active": False},
    {"name": "Cllr Jones", "email": "cllr.jones@example.org", "role": "councillor"},
    {"name": "Pat Staff", "email": "pat@example.org", "role": "staff"},
]
REVIEWERS = ["clerk@example.org", "deputy@example.org", "sam@example.org"]

# The council's registered social media account (seeds the register; POSTED must name it).
ACCOUNTS: list[dict[str, Any]] = [
    {"platform": "facebook", "handle": "testham", "url": "https://facebook.com/testham", "administered_by": "Sam Smat"}
]

TOWN_MAILBOX = "smat.info@town.example"
TOWN_SECRET = "0123456789abcdef0123456789abcdef"
# three reviewers (one per reviewing role), one inactive reviewer who must get nothing, a councillor
TOWN_ROSTER: list[dict[str, Any]] = [
    {"name": "Town Clerk", "email": "clerk@town.example", "role": "clerk"},
    {"name": "Deputy Town Clerk", "email": "deputy@town.example", "role": "deputy_clerk"},
    {"name": "Comms Officer", "email": "comms@town.example", "role": "smat"},
    {"name": "Former Member", "email": "former@town.example", "role": "smat", "active": False},
    {"name": "Cllr Example", "email": "cllr@town.example", "role": "councillor"},
]
TOWN_REVIEWERS = {"clerk@town.example", "deputy@town.example", "comms@town.example"}

# --- the config builder -------------------------------------------------------------------


def config_data(
    database_url: str,
    *,
    town: bool = False,
    outbox: str | None = None,
    imap: Any = None,
    smtp: Any = None,
    listener_port: int | None = None,
) -> dict[str, Any]:
    """A valid config as a dict: the example.org desk, or (town=True) the town.example one."""
    if town:
        data: dict[str, Any] = {
            "council": {"name": "Test Town Council", "timezone": "Europe/London"},
            "mailbox": {"address": TOWN_MAILBOX},
            "database": {"url": database_url},
            "outbox": {"folder": outbox or "outbox", "max_attempts": 5, "retry_seconds": 60},
            "security": {"secret": TOWN_SECRET},
        }
    else:
        data = {
            "council": {"name": "Testham Town Council", "phone": "01234 567890", "email": "office@example.org"},
            "mailbox": {"address": OUR_ADDRESS},
            "database": {"url": database_url},
            "outbox": {"folder": outbox or "outbox", "retry_seconds": 1},
            "security": {"secret": SECRET},
        }
    if imap is not None:
        data["imap"] = {**imap_section(imap), "poll_seconds": 5}
    if smtp is not None:
        data["smtp"] = {"host": smtp.host, "port": smtp.port, "security": "none"}
    if listener_port is not None:
        data["listener"] = {"host": "127.0.0.1", "port": listener_port}
    data["people"] = [dict(p) for p in (TOWN_ROSTER if town else ROSTER)]
    data["accounts"] = [dict(a) for a in ACCOUNTS]  # the register POSTED must name
    return data


def imap_section(server: Any) -> dict[str, Any]:
    """The [imap] section for a server with host, port, user and password (such as servers.Dovecot)."""
    return {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": server.user,
        "password": server.password,
    }


def with_sections(data: dict[str, Any], sections: dict[str, Any], merge: bool) -> dict[str, Any]:
    """Add sections to a config dict: merged into, or replacing, what is there (None drops one)."""
    for name, body in sections.items():
        if body is None:
            data.pop(name, None)
        elif merge and isinstance(body, dict):
            data.setdefault(name, {}).update(body)
        else:
            data[name] = body
    people = data.pop("people", None)  # [[people]] last: no plain table may follow an array of tables
    if people is not None:
        data["people"] = people
    return data


def toml_value(value: Any) -> str:
    """One value as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_toml(sections: dict[str, Any]) -> str:
    """Plain sections ({"council": {...}}) and arrays of tables ({"people": [{...}]}) as TOML text."""
    out: list[str] = []
    for name, body in sections.items():
        for entry in body if isinstance(body, list) else [body]:
            out.append(f"[[{name}]]" if isinstance(body, list) else f"[{name}]")
            out += [f"{k} = {toml_value(v)}" for k, v in entry.items()]
            out.append("")
    return "\n".join(out)


def base_config(database_url: str | None = None, **sections: Any) -> dict[str, Any]:
    """The town.example config as a dict; keyword arguments add or replace whole sections (None drops one)."""
    return with_sections(config_data(database_url or "sqlite:///var/smat.db", town=True), sections, merge=False)


def write_config(folder: Path, database_url: str | None = None, name: str = "config.toml", **sections: Any) -> Path:
    """Write base_config(...) as TOML into *folder*; returns the file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(to_toml(base_config(database_url, **sections)), encoding="utf-8")
    return path


def settings_data(
    tmp_path: Path,
    database_url: str,
    *,
    imap: Any = None,
    smtp: Any = None,
    listener_port: int | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    **sections: Any,
) -> dict[str, Any]:
    """The example.org config as a dict, the outbox in tmp_path; sections are merged in."""
    data = config_data(database_url, outbox=str(tmp_path / "outbox"), imap=imap, smtp=smtp, listener_port=listener_port)
    return with_sections(data, {**sections, **(overrides or {})}, merge=True)


def settings_for(tmp_path: Path, database_url: str, **options: Any) -> Settings:
    """Settings as if read from tmp_path/config.toml: our roster, the given servers."""
    from intake import config

    return config.from_dict(settings_data(tmp_path, database_url, **options), tmp_path / "config.toml")


# --- databases: migrated once per session, copied per test ---------------------------------

_templates: dict[str, str] = {}


def _sqlite_template() -> Path:
    """A SQLite file at the newest migration, made on first use (removed by drop_templates)."""
    if "sqlite" not in _templates:
        from intake.store.db import make_engine, upgrade

        folder = tempfile.mkdtemp(prefix="smat-template-")
        path = Path(folder) / "template.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()  # the last connection closed: the WAL is checkpointed into the file
        assert not path.with_name(path.name + "-wal").exists(), "the template's WAL was not merged"
        _templates["sqlite"] = str(path)
    return Path(_templates["sqlite"])


_maintenance: list[Any] = []  # this process's connection to the maintenance database (see _admin_connection)


def _admin_connection() -> Any:
    """A connection to PostgreSQL's maintenance database (over the Unix socket), in autocommit, kept for the
    process: every PostgreSQL test swaps its database's name, and a new connection cost the server 4 ms."""
    import psycopg

    if not _maintenance or _maintenance[0].closed or _maintenance[0].broken:
        _maintenance[:] = [psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5)]
    return _maintenance[0]


def _admin(sql: str) -> None:
    """Run one statement in PostgreSQL's maintenance database."""
    _admin_connection().execute(sql)  # our own SQL, names quoted


def _postgres_template() -> str:
    """The name of a PostgreSQL database at the newest migration, made on first use (see drop_templates)."""
    if "postgresql" not in _templates:
        from intake.store.db import make_engine, upgrade

        # the prefix and pid let servers.Postgres.drop_all clean up after a run that died
        name = f"smat_test_{os.getpid()}_template_{uuid.uuid4().hex[:8]}"
        _admin(f'CREATE DATABASE "{name}"')
        engine = make_engine(f"postgresql+psycopg:///{name}")
        upgrade(engine)
        engine.dispose()  # a template must have no connections when it is copied
        _templates["postgresql"] = name
        _templates["postgresql-schema"] = _schema_of(name)
    return _templates["postgresql"]


# --- PostgreSQL databases reused within a run ------------------------------------------
# Making a database is cheap, but dropping one forces a checkpoint (about a second on a busy
# disk). So a test's database is not dropped: when the test is over and nothing else is
# connected, its rows are deleted and it waits here for the next test of this process. One
# whose schema a test changed (a downgrade, say) is dropped instead. The set of names never
# changes while databases are swapped, so Postgres.drop_all and drop_templates remove them all.

_empty: list[str] = []  # empty databases (no tables), ready for `database_url`
_ready: list[str] = []  # databases at the newest migration, with no rows
_made: list[str] = []  # databases made here rather than by servers.Postgres (dropped by drop_templates)
_unsettled: list[str] = []  # URLs of databases still connected to when their test ended (see release_postgres)


def _db_name(url: str) -> str:
    return url.rsplit("/", 1)[-1]


# What a database's schema looks like, read from the catalogue alone (information_schema took 20 ms; the
# deparsing functions, pg_get_indexdef and pg_get_constraintdef, cost a new connection 7 ms of the server's
# CPU, paid by every PostgreSQL test): every column with its type and nullability, every index's columns and
# uniqueness, every constraint's kind and columns, and the migration.
_SCHEMA = """
SELECT md5(concat_ws('|',
    (SELECT string_agg(format('%s.%s %s %s %s', c.relname, a.attname, a.atttypid, a.atttypmod, a.attnotnull), ','
                       ORDER BY c.relname, a.attname)
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0
        AND NOT a.attisdropped),
    (SELECT string_agg(format('%s %s %s %s %s', c.relname, i.indkey, i.indisunique, i.indclass, i.indpred IS NULL),
                       ',' ORDER BY c.relname)
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = 'public'::regnamespace),
    (SELECT string_agg(format('%s %s %s %s', co.conname, co.contype, co.conkey, co.confkey), ',' ORDER BY co.conname)
       FROM pg_constraint co WHERE co.connamespace = 'public'::regnamespace),
    (SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_class c
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S'),
    (SELECT string_agg(version_num, ',') FROM alembic_version)))
"""

# What release_postgres needs of a database first: who else is connected, its tables and its sequences.
_STATE = """
SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()),
       ARRAY(SELECT relname::text FROM pg_class
              WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname <> 'alembic_version'),
       ARRAY(SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'S')
"""


def _schema_of(name: str, conn: Any = None) -> str:
    """A digest of a database's schema (tables, columns, indexes, constraints, migration), to tell a changed one."""
    import psycopg

    if conn is not None:
        return str(conn.execute(_SCHEMA).fetchone()[0])
    with psycopg.connect(dbname=name, autocommit=True, connect_timeout=5) as own:
        return _schema_of(name, own)


def empty_postgres(pg: Any) -> str:
    """An empty PostgreSQL database: one a finished test left empty, else a new one."""
    _settle(pg)
    return f"postgresql+psycopg:///{_empty.pop()}" if _empty else str(pg.create_database())


def new_migrated_postgres(pg: Any) -> str:
    """A PostgreSQL database at the newest migration with no rows: reused, else copied from the template."""
    _settle(pg)
    if _ready:
        return f"postgresql+psycopg:///{_ready.pop()}"
    return str(pg.create_database(template=_postgres_template()))


def release_postgres(pg: Any, url: str, *, last_try: bool = False) -> None:
    """A test is done with its database: keep it for the next test if it can be emptied, else drop it.

    One still connected to (a service the test made is closed by a fixture torn down after this one) is
    looked at again when the next test asks for a database, and dropped only if it is still in use then.
    """
    import psycopg

    name = _db_name(url)
    try:
        with psycopg.connect(dbname=name, autocommit=True, connect_timeout=5) as conn:
            others, tables, sequences = conn.execute(_STATE).fetchone() or (1, [], [])
            if others and not last_try:
                _unsettled.append(url)
                return
            if others:
                raise LookupError("still in use")
            if not tables:
                pool = _empty
            elif "postgresql" in _templates and _schema_of(name, conn) == _templates["postgresql-schema"]:
                # one round trip: no foreign-key order needed, every table emptied, every sequence restarted
                # (setval, not ALTER SEQUENCE … RESTART: no catalogue change for every test)
                statements = ["SET LOCAL session_replication_role = replica"]
                statements += [f'DELETE FROM "{table}"' for table in tables]
                statements += [f"SELECT setval('\"{sequence}\"', 1, false)" for sequence in sequences]
                with conn.transaction():
                    conn.execute("; ".join(statements))  # type: ignore[arg-type]  # names from the catalogue
                pool = _ready
            else:
                raise LookupError("schema changed")
    except (LookupError, psycopg.Error):
        pg.drop_later(url)
        return
    pool.append(name)


def _settle(pg: Any) -> None:
    """Release again the databases that were still in use when their tests ended (see release_postgres)."""
    while _unsettled:
        release_postgres(pg, _unsettled.pop(), last_try=True)


def _swap_in_migrated(name: str) -> None:
    """Give the empty database *name* the contents of a ready migrated one, by swapping their names.

    Raises psycopg's ObjectInUse, changing nothing, when something is connected to *name*.
    """
    spare = f"smat_test_{os.getpid()}_swap_{uuid.uuid4().hex[:8]}"
    _admin(f'ALTER DATABASE "{name}" RENAME TO "{spare}"')
    if _ready:
        ready = _ready.pop()
    else:
        ready = f"smat_test_{os.getpid()}_ready_{uuid.uuid4().hex[:8]}"
        _admin(f'CREATE DATABASE "{ready}" TEMPLATE "{_postgres_template()}"')
        _made.append(ready)
    _admin(f'ALTER DATABASE "{ready}" RENAME TO "{name}"')
    _admin(f'ALTER DATABASE "{spare}" RENAME TO "{ready}"')
    _empty.append(ready)  # the empty one, now under the other name


def take_postgres_databases() -> list[str]:
    """The PostgreSQL databases this process made here (templates, spares), forgotten: the caller drops them."""
    names = [_templates.pop("postgresql")] if "postgresql" in _templates else []
    _templates.pop("postgresql-schema", None)
    names += _made
    _made.clear()
    _empty.clear()
    _ready.clear()
    _unsettled.clear()
    return names


def drop_templates() -> None:
    """Remove the templates and spare databases this process made (conftest.py calls it at the end)."""
    _templates.pop("head", None)
    if "sqlite" in _templates:
        shutil.rmtree(Path(_templates.pop("sqlite")).parent, ignore_errors=True)
    for name in _made:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _made.clear()
    _empty.clear()
    _ready.clear()
    _unsettled.clear()
    if "postgresql" in _templates:
        _admin(f'DROP DATABASE IF EXISTS "{_templates.pop("postgresql")}" WITH (FORCE)')


def _head() -> str:
    """The newest migration, read from the scripts once per process (Alembic parses every one each time)."""
    if "head" not in _templates:
        from intake.store.db import head_revision

        _templates["head"] = head_revision()
    return _templates["head"]


def _state(url: str) -> str:
    """ "empty" (no file or no tables), "head" (at the newest migration) or "other", asked without Alembic."""
    version = "SELECT version_num FROM alembic_version"
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        import sqlite3

        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists() or path.stat().st_size == 0:
            return "empty"
        try:
            with closing(sqlite3.connect(path)) as lite:
                rows = lite.execute(version).fetchall()
        except sqlite3.Error:
            return "other"
        return "head" if rows == [(_head(),)] else "other"
    if url.startswith("postgresql+psycopg:///"):
        import psycopg

        with psycopg.connect(dbname=_db_name(url), autocommit=True, connect_timeout=5) as conn:
            if conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,):
                return "empty"
            try:
                rows = conn.execute(version).fetchall()  # type: ignore[arg-type]
            except psycopg.Error:
                return "other"
        return "head" if rows == [(_head(),)] else "other"
    return "other"


def migrated(url: str) -> str:
    """Bring the database at *url* to the newest migration: a template copy if empty, nothing if it is there
    already (a ``migrated_url`` handed to make_service), else Alembic."""
    state = _state(url)
    if state == "head":
        return url
    if state == "empty" and url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_sqlite_template(), path)
        return url
    if state == "empty":
        import psycopg

        name = _db_name(url)
        try:
            _swap_in_migrated(name)
        except psycopg.errors.ObjectInUse:  # the test holds a connection to it: copy the template over it
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _admin(f'CREATE DATABASE "{name}" TEMPLATE "{_postgres_template()}"')
        return url
    from intake.store.db import make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def make_service(tmp_path: Path, database_url: str, **settings_options: Any) -> Service:
    """A Service on the database at *database_url*, migrated, with settings from ``settings_for``."""
    from intake.service import Service

    return Service.build(settings_for(tmp_path, migrated(database_url), **settings_options), template_cache=TEMPLATES)


def wire_bytes(msg: EmailMessage) -> bytes:
    """A built message as sent (SMTP policy), each multipart given a random boundary first, as we send ours.

    Left to choose, the email package makes up a boundary and then searches all the text below it for
    it, at each level: building a mail forwarded 45 deep took 0.39 s of CPU that way, 0.17 s this way.
    """
    from email.policy import SMTP

    from intake.mimewrite import boundary

    for part in msg.walk():
        if part.get_content_maintype() == "multipart" and part.get_boundary() is None:
            part.set_boundary(boundary())
    return msg.as_bytes(policy=SMTP)


def queued(service: Service, purpose: str | None = None) -> list[EmailMessage]:
    """The mail in a service's outbox, oldest first, parsed; only that of one purpose if given."""
    from email import message_from_bytes
    from email.policy import default

    from sqlalchemy import select

    from intake.store.models import OutboxMessage

    with service.sessions() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if purpose is not None:
            query = query.where(OutboxMessage.purpose == purpose)
        raws = [row.raw for row in session.scalars(query)]  # the bytes live in their own table
    return [message_from_bytes(raw, policy=default) for raw in raws]  # type: ignore[misc]


# --- child processes ----------------------------------------------------------------------


def forked(target: Callable[..., object], *args: Any, log: Path, errors: Path | None = None) -> Any:
    """Start ``target(*args)`` in a child process, its stdout written to *log* and its stderr there too, or to
    *errors*; the ``multiprocessing.Process``, already started.

    The child is forked by multiprocessing's fork server, the one `run` uses for a restarted sender:
    a process that imported the service once, so a child need not spend half a second importing it
    again as a new interpreter would. Otherwise it is what ``python -c`` gave: a process of its own
    that has imported nothing of the test's, to be killed with SIGKILL. (A daemon: it may start no
    processes of its own, so not `run`.)
    """
    import multiprocessing

    from intake.delivery.process import FORKSERVER_PRELOAD

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(FORKSERVER_PRELOAD)  # the one server, whichever of us starts it
    streams = (str(log), str(errors or log))
    child = context.Process(target=_output_to, args=(streams, target, *args), daemon=True)
    child.start()
    return child


def _output_to(streams: tuple[str, str], target: Callable[..., object], *args: Any) -> None:
    """In the child: send descriptors 1 and 2 to the two files (one, if they are the same), then run the target."""
    opened: dict[str, int] = {}
    for fd, path in zip((1, 2), streams, strict=True):
        if path not in opened:
            opened[path] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(opened[path], fd)
    for descriptor in opened.values():
        os.close(descriptor)
    target(*args)


class Command:
    """`smat-intake ARGS` run to its end in a child forked by the fork server (see `forked`): the command line's
    own code and output, in a process of its own, without the half second a new interpreter spends importing
    the service. The test's environment and working folder, as ``subprocess.run`` would give them."""

    def __init__(self, args: Sequence[str], folder: Path, env: dict[str, str] | None = None, timeout: float = 120):
        name = f"command-{uuid.uuid4().hex[:8]}"
        out, err = folder / f"{name}.out", folder / f"{name}.err"
        environment = dict(os.environ if env is None else env)
        process = forked(_command, list(args), str(folder), environment, log=out, errors=err)
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            raise TimeoutError(f"smat-intake {' '.join(args)} did not end within {timeout} s")
        self.returncode: int = process.exitcode
        self.stdout, self.stderr = out.read_text(errors="replace"), err.read_text(errors="replace")


def _command(args: list[str], folder: str, environment: dict[str, str]) -> None:
    """In the child: what `python -m intake ARGS` does, in that folder and environment."""
    from intake.cli import main

    os.environ.clear()
    os.environ.update(environment)
    os.chdir(folder)
    raise SystemExit(main(args))


def deliver_due(config: str) -> None:
    """One drain of the outbox, as `smat-intake deliver` does it; a target for `forked`."""
    from intake.config import load
    from intake.service import Service

    Service.build(load(config)).drain.deliver_due()


# --- waiting on conditions ----------------------------------------------------------------


def run_cli(
    argv: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None, stdin: bytes = b""
) -> subprocess.CompletedProcess[str]:
    """`smat-intake ARGV` through `cli.main` in this process, as the console script calls it.

    Its own working folder, environment (default: this one without $SMAT_INTAKE_CONFIG), standard
    input, stdout and stderr (log lines included, formatted as the command formats them). An exception
    that escapes main fails the test, as a traceback would; a subprocess costs a second of imports.
    """
    from intake import cli

    out, err = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level, here, saved, saved_stdin = root.level, os.getcwd(), dict(os.environ), sys.stdin
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        os.chdir(cwd or here)
        os.environ.clear()
        os.environ.update(env if env is not None else {k: v for k, v in saved.items() if k != "SMAT_INTAKE_CONFIG"})
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = cli.main(list(argv))
            except SystemExit as exc:  # argparse: --help, or a usage error
                code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    finally:
        sys.stdin = saved_stdin
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved)
        root.removeHandler(handler)
        root.setLevel(level)
    return subprocess.CompletedProcess(list(argv), code, out.getvalue(), err.getvalue())


def answer(service: Service, sender: str, body: str, answering: EmailMessage) -> Any:
    """A reply from `sender` (named as on ROSTER) to the Reply-To plus-address of the mail `answering`, as a mail
    client sends it, taken in over SMTP; returns the pipeline's Outcome."""
    from email.message import EmailMessage as Message
    from email.policy import SMTP
    from email.utils import make_msgid

    names = {person["email"]: person["name"] for person in ROSTER}
    msg = Message()
    msg["From"] = f"{names.get(sender, 'Someone')} <{sender}>"
    msg["To"] = str(answering["Reply-To"])
    msg["Subject"] = f"Re: {answering['Subject']}"
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    msg.set_content(body)
    return service.ingest(msg.as_bytes(policy=SMTP), "smtp", envelope_recipients=[str(answering["Reply-To"])])


def self_signed_certificate(folder: Path, rsa: bool = False) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key, in `folder`.

    An elliptic-curve key unless `rsa` (MSAL signs its client assertions with RS256): made at once,
    where an RSA key takes from 0.1 to 2 s.
    """
    cert, key = folder / "cert.pem", folder / "key.pem"
    kind = ["rsa:2048"] if rsa else ["ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", *kind, "-nodes"]
        + ["-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def wait_until(
    condition: Callable[[], Any], timeout: float = 15, interval: float = 0.02, what: str = "condition"
) -> Any:
    """Poll *condition* until it returns something truthy and return that; TimeoutError after *timeout*."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout}s")
        time.sleep(interval)


def wait_for_port(host: str, port: int, timeout: float = 15, alive: Callable[[], bool] | None = None) -> None:
    """Wait until something accepts TCP connections on host:port (or *alive* says the server died)."""

    def accepting() -> bool:
        if alive is not None and not alive():
            raise RuntimeError(f"the server died before listening on {host}:{port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            return False

    wait_until(accepting, timeout=timeout, what=f"something listening on {host}:{port}")


class LogRecorder(logging.Handler):
    """Keeps the messages logged to one logger, so a test can wait on a log line from another thread."""

    def __init__(self, name: str) -> None:
        super().__init__(logging.DEBUG)
        self.logger = logging.getLogger(name)
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the formatted message."""
        self.messages.append(record.getMessage())

    def has(self, text: str) -> bool:
        """True once some message so far contains *text*."""
        return any(text in m for m in list(self.messages))

    def close(self) -> None:
        """Detach from the logger."""
        self.logger.removeHandler(self)
        super().close()
