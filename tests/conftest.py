"""Shared fixtures: real Dovecot, SMTP sink and PostgreSQL (started by scripts/test).

Fixture names are a contract for the rest of the suite:

- ``dovecot``      session: one private Dovecot (``tests/servers.py:Dovecot``)
- ``mailbox``      function: that Dovecot, emptied (all messages, all folders but INBOX)
- ``smtp_sink``    function: a fresh ``SmtpSink`` per test, stopped afterwards
- ``pg``           session: ``Postgres`` helper; its databases are dropped at the end
- ``database_url`` function, parametrised ``sqlite`` / ``postgresql``: an empty database URL
- ``sqlite_url``   function: an empty SQLite database URL only
- ``migrated_url`` function, parametrised like ``database_url``: a database at the newest
  migration, copied from a template migrated once per session (``support.migrated``)
- ``service_for``  function: ``service_for(url, imap=…, smtp=…, …)`` builds a ``Service`` on
  that database (migrated by template copy if empty), closed after the test

Nothing here imports ``intake`` at import time (support.py imports it only when used).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import support  # noqa: E402
from servers import Dovecot, Postgres, SmtpSink  # noqa: E402


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
def pg():
    helper = Postgres()  # raises PostgresUnavailable: the test fails, it does not skip
    try:
        yield helper
    finally:
        helper.drop_all()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path}/smat.db"


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/smat.db"
    return request.getfixturevalue("pg").create_database()


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def migrated_url(request, tmp_path):
    if request.param == "sqlite":
        return support.migrated(f"sqlite:///{tmp_path}/smat.db")
    return support.new_migrated_postgres(request.getfixturevalue("pg"))


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
