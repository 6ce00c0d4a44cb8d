"""The scheduler: the outbox sweep runs every [outbox] retry_seconds in the council's time zone,
and in `run()` it is what brings deferred mail back when nothing else happens."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from samples import draft
from servers import free_port
from sqlalchemy import func, select
from support import REVIEWERS, TEMPLATES, migrated, settings_for, wait_until

from intake.scheduler import make_scheduler
from intake.service import Service, run
from intake.store.models import OutboxMessage


def test_the_outbox_sweep_is_set_for_every_retry_seconds_in_the_council_time_zone(tmp_path, sqlite_url):
    settings = settings_for(tmp_path, sqlite_url, outbox={"retry_seconds": 1}, council={"timezone": "America/New_York"})
    scheduler = make_scheduler(settings, lambda: None)
    assert scheduler.timezone == ZoneInfo("America/New_York")
    (job,) = scheduler.get_jobs()  # that it runs, and wakes delivery, is the next test's business
    assert (job.id, job.trigger.interval, job.max_instances, job.coalesce) == (
        "outbox-sweep",
        timedelta(seconds=1),
        1,
        True,
    )


def test_mail_deferred_by_the_relay_goes_out_on_the_next_sweep_without_new_mail(tmp_path, sqlite_url, smtp_sink):
    smtp_sink.data_response = "451 4.3.0 busy, try later"
    settings = settings_for(tmp_path, migrated(sqlite_url), smtp=smtp_sink, listener_port=free_port())
    # A fifth of a second between sweeps and before the retry (the config allows no less than 1 s): the test
    # waits for the sweep to bring the mail back, not for seconds to pass.
    settings = replace(settings, outbox=replace(settings.outbox, retry_seconds=0.2))
    service = Service.build(settings, template_cache=TEMPLATES)
    service.ingest(draft(), "file")
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(service,), kwargs={"stop": stop}, daemon=True)
    thread.start()
    try:

        def refused_once() -> bool:
            with service.sessions() as session:
                attempted = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.attempts >= 1)
                return bool(session.scalar(attempted))

        wait_until(refused_once, what="a first delivery, refused by the relay")
        assert smtp_sink.captured == []
        smtp_sink.data_response = None  # the relay is back; nothing new arrives, only the sweep can wake delivery
        captured = smtp_sink.wait_for(1 + len(REVIEWERS), timeout=15)
        assert sorted(r for c in captured for r in c.rcpt_tos) == sorted(["jane@example.com", *REVIEWERS])
    finally:
        stop.set()
        thread.join(timeout=20)
        service.close()
    assert not thread.is_alive()
