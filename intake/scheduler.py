"""The scheduled jobs (APScheduler 3.x), in the council's time zone: the outbox sweep and the Clerk's digest."""

from __future__ import annotations

from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from intake.config import Settings

DIGEST_JOB = "digest"
DIGEST_GRACE_SECONDS = 6 * 3600  # a digest missed by a short outage still goes the same morning
RETENTION_JOB = "retention"
RETENTION_AT = (3, 15)  # local time: a quiet hour, after the night's mail and before the digest


def digest_trigger(settings: Settings) -> CronTrigger:
    """Every day at [digest] time in the council's time zone (summer time included)."""
    hour, minute = (int(part) for part in settings.digest.time.split(":"))
    return CronTrigger(hour=hour, minute=minute, timezone=settings.council.tz)


def make_scheduler(
    settings: Settings,
    sweep_outbox: Callable[[], None],
    send_digest: Callable[[], None] | None = None,
    apply_retention: Callable[[], None] | None = None,
) -> BackgroundScheduler:
    """A scheduler with the outbox retry sweep and, when given, the daily digest and the nightly retention.

    The digest job may fire on every instance sharing a database: the digests table lets
    only one of them send it.
    """
    scheduler = BackgroundScheduler(timezone=settings.council.tz)
    scheduler.add_job(
        sweep_outbox,
        "interval",
        seconds=settings.outbox.retry_seconds,
        id="outbox-sweep",
        max_instances=1,
        coalesce=True,
    )
    if send_digest is not None:
        scheduler.add_job(
            send_digest,
            digest_trigger(settings),
            id=DIGEST_JOB,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=DIGEST_GRACE_SECONDS,
        )
    if apply_retention is not None:
        # Safe on every instance at once: each erasure is one transaction, and an erased item is not due again.
        hour, minute = RETENTION_AT
        scheduler.add_job(
            apply_retention,
            CronTrigger(hour=hour, minute=minute, timezone=settings.council.tz),
            id=RETENTION_JOB,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=DIGEST_GRACE_SECONDS,
        )
    return scheduler
