"""Build today's digest from the store and queue it for the Clerk, once a day whoever asks.

The order is the transactional outbox's: gather, build, render and queue inside one
transaction that also records the day (intake.store.digest). A second `--send`, a restart
or another instance on the same database finds the day taken and queues nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from intake.config import Person, Settings
from intake.digest import Digest, DigestOptions, build_digest
from intake.errors import IntakeError, StorageConflict
from intake.mailcontext import person_label
from intake.render import Composer, Recipient
from intake.store import digest as store
from intake.store.db import Session, Sessions
from intake.store.roster import roster_settings
from intake.store.unit import reading, transaction
from intake.vocab import Purpose, Role

FIRST_PERIOD = timedelta(days=1)  # the first digest looks back one day


@dataclass(frozen=True)
class DigestRun:
    """What `send_digest` did: queued today's digest, or found it already sent."""

    day: date
    sent: bool
    recipients: tuple[str, ...]
    digest: Digest | None = None


def digest_options(settings: Settings) -> DigestOptions:
    """The content settings: [digest] and the council's zone and name."""
    review = settings.digest.policy_review
    return DigestOptions(
        tz=settings.council.tz,
        council=settings.council.name,
        overdue_hours=settings.digest.overdue_hours,
        report_deadline_working_days=settings.digest.report_deadline_working_days,
        policy_review=date.fromisoformat(review) if review else None,
    )


def digest_recipients(settings: Settings) -> tuple[Person, ...]:
    """Every active Town Clerk, and the Deputy when [digest] to_deputy is set (design.md: the Clerk reads it)."""
    roles = {Role.CLERK, Role.DEPUTY_CLERK} if settings.digest.to_deputy else {Role.CLERK}
    return tuple(p for p in settings.people if p.active and p.role in roles)


def _build(settings: Settings, session: Session, now: datetime) -> tuple[datetime, Digest]:
    settings = roster_settings(session, settings)
    start = store.last_period_end(session) or now - FIRST_PERIOD
    facts = store.gather(session, start, now)
    return start, build_digest(facts, digest_options(settings), lambda email: person_label(settings, email))


def preview_digest(settings: Settings, sessions: Sessions, now: datetime | None = None) -> Digest:
    """Today's digest as it stands, changing nothing (`digest --print`)."""
    now = now or datetime.now(UTC)
    with reading(sessions, "read the digest") as session:
        return _build(settings, session, now)[1]


def send_digest(settings: Settings, sessions: Sessions, composer: Composer, now: datetime | None = None) -> DigestRun:
    """Queue today's digest to the Clerk, unless today's is already recorded (here or by another instance)."""
    now = now or datetime.now(UTC)
    day = now.astimezone(settings.council.tz).date()
    try:
        with transaction(sessions, "record the digest") as session:
            people = digest_recipients(roster_settings(session, settings))
            if not people:
                raise IntakeError(
                    f"{settings.path}: no active person with role clerk on the roster ([[people]], "
                    "`smat-intake roster list`) to send the digest to."
                )
            done = store.sent_on(session, day)
            if done is not None:
                return DigestRun(day, False, tuple(done.recipients))
            start, digest = _build(settings, session, now)
            context = {"council": settings.council, "mailbox": settings.mailbox.address, "digest": digest}
            mails = [
                composer.compose(
                    Purpose.DIGEST,
                    Recipient(p.email, p.name),
                    context,
                    auto_submitted="auto-generated",  # RFC 3834: periodic mail, not a reply to anything
                    now=now,
                )
                for p in people
            ]
            store.record_digest(session, day, start, now, mails, digest.reconciliation)
    except StorageConflict:  # another instance recorded the day between our check and our insert
        with reading(sessions, "read the digest") as session:
            done = store.sent_on(session, day)
        return DigestRun(day, False, tuple(done.recipients) if done else ())
    return DigestRun(day, True, tuple(p.email for p in people), digest)
