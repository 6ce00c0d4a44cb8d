"""The scheduled jobs (APScheduler 3.x), in the council's time zone: the outbox sweep, the Clerk's digest,
the monthly committee report and the nightly retention."""

from __future__ import annotations

from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from intake.config import Settings

DIGEST_JOB = "digest"
DIGEST_GRACE_SECONDS = 6 * 3600  # a digest missed by a short outage still goes the same morning
REPORT_JOB = "committee-report"
RETENTION_JOB = "retention"
RETENTION_AT = (3, 15)  # local time: a quiet hour, after the night's mail and before the digest


def digest_trigger(settings: Settings) -> CronTrigger:
    """Every day at [digest] time in the council's time zone (summer time included)."""
    hour, minute = (int(part) for part in settings.digest.time.split(":"))
    return CronTrigger(hour=hour, minute=minute, timezone=settings.council.tz)


def report_trigger(settings: Settings) -> CronTrigger:
    """Weekdays 1 to 7 of each month at [digest] time: the job sends last month's report from the first working day.

    A bank holiday on the 1st moves the first working day on (intake.workdays), and the job
    decides that; firing on each of those weekdays also makes up for a day the service was down.
    """
    hour, minute = (int(part) for part in settings.digest.time.split(":"))
    return CronTrigger(day="1-7", day_of_week="mon-fri", hour=hour, minute=minute, timezone=settings.council.tz)


def make_scheduler(
    settings: Settings,
    sweep_outbox: Callable[[], None],
    send_digest: Callable[[], None] | None = None,
    send_report: Callable[[], None] | None = None,
    apply_retention: Callable[[], None] | None = None,
) -> BackgroundScheduler:
    """A scheduler with the outbox retry sweep and, when given, the daily digest, the monthly report and the
    nightly retention.

    The digest and report jobs may fire on every instance sharing a database: the digests and
    committee_reports tables let only one of them send each. Retention is safe on every instance
    at once: each erasure is one transaction, and an erased item is not due again.
    """
    tz = settings.council.tz
    scheduler = BackgroundScheduler(timezone=tz)
    scheduler.add_job(
        sweep_outbox,
        "interval",
        seconds=settings.outbox.retry_seconds,
        id="outbox-sweep",
        max_instances=1,
        coalesce=True,
    )
    jobs: list[tuple[Callable[[], None] | None, CronTrigger, str]] = [
        (send_digest, digest_trigger(settings), DIGEST_JOB),
        (send_report, report_trigger(settings), REPORT_JOB),
        (
            apply_retention,
            CronTrigger(hour=RETENTION_AT[0], minute=RETENTION_AT[1], timezone=settings.council.tz),
            RETENTION_JOB,
        ),
    ]
    for job, trigger, name in jobs:
        if job is not None:
            scheduler.add_job(
                job, trigger, id=name, max_instances=1, coalesce=True, misfire_grace_time=DIGEST_GRACE_SECONDS
            )
    return scheduler
