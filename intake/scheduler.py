"""The scheduled jobs (APScheduler 3.x), in the council's time zone."""

from __future__ import annotations

from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from intake.config import Settings


def make_scheduler(settings: Settings, sweep_outbox: Callable[[], None]) -> BackgroundScheduler:
    """A scheduler with the outbox retry sweep; later jobs (the Clerk's digest) join here."""
    scheduler = BackgroundScheduler(timezone=settings.council.tz)
    scheduler.add_job(
        sweep_outbox,
        "interval",
        seconds=settings.outbox.retry_seconds,
        id="outbox-sweep",
        max_instances=1,
        coalesce=True,
    )
    return scheduler
