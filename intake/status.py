"""`smat-intake status`: is everything the service needs reachable? Checks that change nothing.

The database is reachable and at the newest migration; the mailbox (IMAP) takes our login and
is logged out of at once; the relay (SMTP) takes EHLO and our AUTH, then QUIT. Each problem is
one line; monitoring reads the exit status.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from intake.config import Settings
from intake.delivery.smtp import SmtpTransport
from intake.delivery.transport import TemporaryFailure
from intake.errors import IntakeError
from intake.oauth2 import TokenSource
from intake.sources.imap import ImapSource
from intake.store.db import make_engine, require_current

if TYPE_CHECKING:
    from intake.arrival import Outcome
    from intake.store.db import Sessions


@dataclass(frozen=True)
class Check:
    """One thing checked: its name, whether it is fine, and what was found."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """The check as one line for the terminal."""
        return f"{'ok' if self.ok else 'PROBLEM'}  {self.name}: {self.detail}"


def check_all(settings: Settings, tokens: TokenSource | None, log: logging.Logger | None = None) -> list[Check]:
    """Every check, in the order an operator would look: database, mailbox, relay."""
    log = log or logging.getLogger("intake.status")
    return [check_database(settings), *check_mailbox(settings, tokens, log), *check_relay(settings, tokens)]


def check_database(settings: Settings) -> Check:
    """Reachable and at the newest migration."""
    engine = make_engine(settings.database_url)
    where = engine.url.render_as_string(hide_password=True)
    try:
        require_current(engine)
    except IntakeError as exc:
        return Check("database", False, f"{where}: {exc}")
    finally:
        engine.dispose()
    return Check("database", True, f"{where} is at the newest migration")


def check_mailbox(settings: Settings, tokens: TokenSource | None, log: logging.Logger) -> list[Check]:
    """IMAP login and logout, when [imap] is configured."""
    s = settings.imap
    if s is None:
        return []
    name = f"mailbox {s.username} at {s.host}:{s.port}"
    # A login check takes in no mail and opens no database: neither is given.
    source = ImapSource(s, _no_ingest, cast("Sessions", None), log, tokens=tokens)
    try:
        source.check_login()
    except IntakeError as exc:
        return [Check(name, False, str(exc))]
    return [Check(name, True, f"logged in ({_how(s.auth)}) and out")]


def check_relay(settings: Settings, tokens: TokenSource | None) -> list[Check]:
    """SMTP EHLO, AUTH and QUIT, when [smtp] is configured; nothing is sent."""
    s = settings.smtp
    if s is None:
        return []
    name = f"relay {s.host}:{s.port}"
    try:
        SmtpTransport(s, tokens).check_login()
    except TemporaryFailure as exc:
        return [Check(name, False, str(exc))]
    logged_in = f"logged in ({_how(s.auth)}) and out" if s.auth == "oauth2" or s.username else "answered EHLO"
    return [Check(name, True, logged_in)]


def _how(auth: str) -> str:
    return "OAuth 2.0" if auth == "oauth2" else "password"  # XOAUTH2 or OAUTHBEARER, whichever the server offers


def _no_ingest(raw: bytes, source: str, key: str | None) -> Outcome:
    raise AssertionError("status takes in no mail")
