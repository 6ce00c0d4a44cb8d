"""Shared fixtures: real Dovecot, SMTP sink and PostgreSQL (started by scripts/test).

Fixture names are a contract for the rest of the suite:

- ``dovecot``      session: one private Dovecot (``tests/servers.py:Dovecot``)
- ``mailbox``      function: that Dovecot, emptied (all messages, all folders but INBOX)
- ``smtp_sink``    function: a fresh ``SmtpSink`` per test, stopped afterwards
- ``pg``           session: ``Postgres`` helper; each test's database is dropped after it (in a
  background thread), whatever is left at the end
- ``database_url`` function, parametrised ``sqlite`` / ``postgresql``: an empty database URL
- ``sqlite_url``   function: an empty SQLite database URL only
- ``migrated_url`` function, parametrised like ``database_url``: a database at the newest
  migration, copied from a template migrated once per session (``support.migrated``)
- ``token_server`` session: the OAuth 2.0 test provider (``servers.TokenServer``)
- ``oauth_provider`` function: that provider, reset (token life 3600 s, no scripted failure)
- ``oauth_dovecot`` session: a Dovecot that also takes XOAUTH2 checked against it
- ``oauth_mailbox`` function: that Dovecot, emptied
- ``oauth_sink``   function: an SMTP sink that requires AUTH XOAUTH2 with the provider's tokens
- ``service_for``  function: ``service_for(url, imap=…, smtp=…, …)`` builds a ``Service`` on
  that database (migrated by template copy if empty), closed after the test

tmp_path lives in memory (/dev/shm) unless SMAT_TEST_TMP=disk or --basetemp is given; tests
marked ``testbed`` (the servers' and fixtures' self-checks) must live in test_servers.py or
test_testbed_*.py, which scripts/test runs first and apart. Under pytest-xdist every worker
has its own servers and template databases.

Nothing here imports ``intake`` at import time (support.py imports it only when used).
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import sql_cache  # noqa: E402
import support  # noqa: E402
from servers import Dovecot, OAuthDovecot, OAuthSmtpSink, Postgres, SmtpSink, TokenServer, pid_alive  # noqa: E402

_MEMORY = Path("/dev/shm")
_TMP_PREFIX = "smat-pytest-"
_tmp_key = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """Keep tmp_path in memory (tmpfs): SQLite files and .eml folders without disk syncs.

    Nothing tested depends on data reaching the disk (a killed process leaves the page cache
    intact), and fsync to a busy disk was most of the SQLite tests' time. SMAT_TEST_TMP=disk,
    or an explicit --basetemp, keeps pytest's own place. A passing run removes its folder.
    """
    if config.option.basetemp or os.environ.get("SMAT_TEST_TMP") == "disk" or not os.access(_MEMORY, os.W_OK):
        return
    for old in _MEMORY.glob(f"{_TMP_PREFIX}*"):  # left by runs that failed or died
        pid = old.name.removeprefix(_TMP_PREFIX)
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    base = _MEMORY / f"{_TMP_PREFIX}{os.getpid()}"
    config.option.basetemp = str(base)
    config.stash[_tmp_key] = base


# Files holding the longest tests (each 5 s or more here), longest first: they start first, so
# that no worker is still in one of them long after the other has run out of work (the shortest
# tests, which come last, fill the gap). Only the order changes; within a file it is kept. pytest-xdist
# keeps this order only with --no-loadscope-reorder (scripts/test gives it): by default it puts the
# groups holding the most tests first.
LONG_FIRST = (
    "test_instances.py",
    "test_kill_soak.py",
    "test_fuzz_messages.py",
    "test_poison.py",
    "test_reply_fuzz.py",
    "test_malformed.py",
    "test_kill_at_random.py",
    "test_mail_html.py",
    "test_logs.py",
    "test_autoresponder.py",
    "test_storage_bounds.py",
    "test_listener_killed.py",
    "test_preview.py",
)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Testbed self-tests live only in the files scripts/test runs first; refuse them elsewhere.

    Under ``--dist loadgroup`` (scripts/test) tests go to whichever worker is free, one by one, so
    every worker stays busy to the end; a file whose tests share a module- or class-scoped fixture
    is kept on one worker (an ``xdist_group`` named after it) so that fixture is made once. The
    files in LONG_FIRST go first.
    """
    for item in items:
        name = item.path.name
        if item.get_closest_marker("testbed") and not (name == "test_servers.py" or name.startswith("test_testbed_")):
            raise pytest.UsageError(f"{item.nodeid}: testbed tests belong in test_servers.py or test_testbed_*.py")
        if _shares_a_fixture(item) and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
        if getattr(config.option, "loadgroup", False):  # a pytest-xdist worker under --dist loadgroup
            _name_the_group(item)
    rank = {name: n for n, name in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


def _name_the_group(item: pytest.Item) -> None:
    """Give a grouped test the node id ``…@group`` that pytest-xdist's loadgroup scheduler groups by.

    pytest-xdist 3.8 does this by writing ``item._nodeid``, which pytest 9.2 no longer reads (node ids are
    structured: pytest-dev/pytest-xdist#1386), so every group was silently spread over the workers and its
    module fixture made on each (test_mail_html's two Chromium runs, test_reply_fuzz's corpus), and again
    whenever another file's tests came between. Done here, it holds whichever of the two versions runs.
    """
    names = sorted(
        {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
    )
    if not names or item.nodeid.rfind("@") > item.nodeid.rfind("]"):
        return
    wanted = f"{item.nodeid}@{'_'.join(names)}"
    if hasattr(item, "_id"):  # pytest 9.2 and later
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(wanted)
    else:
        item._nodeid = wanted


def _shares_a_fixture(item: pytest.Item) -> bool:
    """True when the test uses a fixture made once per module, class or package (not per session)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs[-1].scope in ("module", "class", "package") for defs in info.name2fixturedefs.values() if defs)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep the garbage collector off what is already loaded, and let it run less often.

    What is imported and collected lives to the end; every full collection walked it again. Frozen,
    with a larger first threshold, each worker spent about 1.2 s collecting garbage instead of 3.2 s.
    Only the test processes: the service's own processes keep Python's defaults.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    base = session.config.stash.get(_tmp_key, None)
    if base is not None and exitstatus == 0:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _compiled_sql_shared():
    """Every engine the tests make shares one cache of compiled SQL (sql_cache.py says why)."""
    sql_cache.share_compiled_statements()


@pytest.fixture(scope="session", autouse=True)
def _migrated_templates():
    """The template databases support.migrated makes on first use go at the end of the session."""
    yield
    support.drop_templates()


@pytest.fixture(scope="session")
def dovecot():
    with Dovecot() as server:
        yield server


@pytest.fixture
def mailbox(dovecot):
    dovecot.clear()
    yield dovecot


@pytest.fixture
def smtp_sink():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def token_server():
    with TokenServer() as server:
        yield server


@pytest.fixture
def oauth_provider(token_server):
    token_server.expires_in = 3600
    token_server.token_failure = None
    token_server.grants.clear()
    yield token_server
    token_server.token_failure = None


@pytest.fixture(scope="session")
def oauth_dovecot(token_server):
    with OAuthDovecot(token_server) as server:
        yield server


@pytest.fixture
def oauth_mailbox(oauth_dovecot, oauth_provider):
    oauth_dovecot.clear()
    yield oauth_dovecot


@pytest.fixture
def oauth_sink(oauth_provider):
    with OAuthSmtpSink(oauth_provider) as sink:
        yield sink


@pytest.fixture(scope="session")
def pg():
    helper = Postgres()  # raises PostgresUnavailable: the test fails, it does not skip
    try:
        yield helper
    finally:
        helper.drop_all(also=support.take_postgres_databases())  # all at once, sharing checkpoints


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path}/smat.db"


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/smat.db"
        return
    pg = request.getfixturevalue("pg")
    url = support.empty_postgres(pg)
    yield url
    support.release_postgres(pg, url)


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def migrated_url(request, tmp_path):
    if request.param == "sqlite":
        yield support.migrated(f"sqlite:///{tmp_path}/smat.db")
        return
    pg = request.getfixturevalue("pg")
    url = support.new_migrated_postgres(pg)
    yield url
    support.release_postgres(pg, url)


@pytest.fixture
def service_for(tmp_path):
    made = []

    def build(database_url, **settings_options):
        service = support.make_service(tmp_path, database_url, **settings_options)
        made.append(service)
        return service

    yield build
    for service in made:
        service.close()
