"""The scheduled jobs (APScheduler 3.x), in the council's time zone: the outbox sweep, the Clerk's digest and
the monthly committee report."""

from __future__ import annotations

from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from intake.config import Settings

DIGEST_JOB = "digest"
DIGEST_GRACE_SECONDS = 6 * 3600  # a digest missed by a short outage still goes the same morning
REPORT_JOB = "committee-report"


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
) -> BackgroundScheduler:
    """A scheduler with the outbox retry sweep and, when given, the daily digest and the monthly report.

    The digest and report jobs may fire on every instance sharing a database: the digests and
    committee_reports tables let only one of them send each.
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
    if send_report is not None:
        scheduler.add_job(
            send_report,
            report_trigger(settings),
            id=REPORT_JOB,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=DIGEST_GRACE_SECONDS,
        )
    return scheduler
