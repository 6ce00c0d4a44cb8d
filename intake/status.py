"""`smat-intake status`: is everything the service needs reachable, and is it working? Checks that change nothing.

The database is reachable and at the newest migration; the mailbox (IMAP) takes our login and
is logged out of at once; the relay (SMTP) takes EHLO and our AUTH, then QUIT. Then what the
running service recorded: the last completed pass over the mailbox and the last delivery, what
waits in the outbox and for how long, mail that could not be delivered, quarantined messages.
Each problem is one line; monitoring reads the exit status.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, cast

from intake.config import Settings
from intake.delivery.smtp import SmtpTransport
from intake.delivery.transport import TemporaryFailure
from intake.errors import IntakeError
from intake.oauth2 import TokenSource
from intake.sources.imap import ImapSource
from intake.store.db import make_engine, make_sessions, require_current
from intake.store.health import DELIVERY, POLL, Health, read_health
from intake.store.models import utcnow
from intake.store.unit import reading

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
    database = check_database(settings)
    checks = [database, *check_mailbox(settings, tokens, log), *check_relay(settings, tokens)]
    if database.ok:
        checks += check_activity(settings)
    return checks


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


# When the recorded activity needs attention. With IDLE a pass completes at least every ten
# minutes (the IDLE renewal), so half an hour without one means the service is not reading mail.
POLL_LATE = timedelta(minutes=30)
OUTBOX_LATE = timedelta(hours=1)  # the digest lists mail that has waited longer than this, too
RECENT = timedelta(hours=24)  # failed deliveries and quarantined messages this recent need a look


def check_activity(settings: Settings, now: datetime | None = None) -> list[Check]:
    """What the running service recorded: last pass and delivery, the outbox, undeliverable and quarantined mail."""
    now = now or utcnow()
    engine = make_engine(settings.database_url)
    try:
        with reading(make_sessions(engine), "be read for the status") as session:
            health = read_health(session, RECENT, now)
    except IntakeError as exc:
        return [Check("activity", False, str(exc))]
    finally:
        engine.dispose()
    return judge(health, settings, now)


def judge(health: Health, settings: Settings, now: datetime) -> list[Check]:
    """The recorded facts as checks: fine, or a problem that says what to look at."""
    tz = settings.council.tz
    checks = []
    poll = health.marks.get(POLL)
    if settings.imap is not None:
        late = max(POLL_LATE, timedelta(seconds=3 * settings.imap.poll_seconds))
        if poll is None:  # a new installation: the logins above are what can be proved yet
            checks.append(Check("last mailbox pass", True, "none recorded yet (the service has not read the mailbox)"))
        else:
            fine = now - poll.at <= late
            advice = "" if fine else f"; none for over {_age(late)}: is `smat-intake run` running and logged in?"
            checks.append(Check("last mailbox pass", fine, f"{_when(poll.at, now, tz)}{advice}"))
    delivery = health.marks.get(DELIVERY)
    last = f"last delivery {_when(delivery.at, now, tz)}" if delivery else "no delivery recorded yet"
    if not health.waiting or health.oldest_waiting is None:
        checks.append(Check("outbox", True, f"nothing waiting; {last}"))
    else:
        waited = now - health.oldest_waiting
        fine = waited <= OUTBOX_LATE
        advice = "" if fine else " (check the relay, and the log for `mail delayed`)"
        checks.append(Check("outbox", fine, f"{health.waiting} waiting, the oldest for {_age(waited)}{advice}; {last}"))
    if health.failed_recently:
        checks.append(
            Check(
                "undeliverable mail",
                False,
                f"{health.failed_recently} message(s) could not be delivered in the "
                "last 24 hours (the digest lists them)",
            )
        )
    recent = health.quarantined_recently
    if recent:
        refs = ", ".join(recent[:5]) + (", …" if len(recent) > 5 else "")
        checks.append(
            Check(
                "quarantine",
                False,
                f"{len(recent)} message(s) quarantined in the last 24 hours ({refs}); `smat-intake show REF` says why",
            )
        )
    else:
        checks.append(Check("quarantine", True, f"none in the last 24 hours ({health.quarantined} held in all)"))
    return checks


def _when(at: datetime, now: datetime, tz: tzinfo) -> str:
    return f"{at.astimezone(tz):%Y-%m-%d %H:%M} ({_age(now - at)} ago)"


def _age(span: timedelta) -> str:
    seconds = max(int(span.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def _how(auth: str) -> str:
    return "OAuth 2.0" if auth == "oauth2" else "password"  # XOAUTH2 or OAUTHBEARER, whichever the server offers


def _no_ingest(raw: bytes, source: str, key: str | None) -> Outcome:
    raise AssertionError("status takes in no mail")
