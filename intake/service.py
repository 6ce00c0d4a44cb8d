"""Wiring: settings in, adapters built and passed to each other; `run` keeps them going.

Nothing here is global: every object is made from the settings and handed to what uses it.
"""

from __future__ import annotations

import functools
import logging
import signal
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from intake.arrival import Outcome
from intake.config import Settings
from intake.delivery.outbox import DeliveryReport, OutboxDrain
from intake.delivery.process import DeliveryProcess
from intake.delivery.relay import make_graph_tokens, make_tokens, make_transport
from intake.delivery.sent_journal import SentJournal
from intake.digest_mail import DigestRun, send_digest
from intake.errors import IntakeError
from intake.monthly_mail import ReportRun, due_month, send_report
from intake.oauth2 import TokenSource
from intake.personal import run_retention
from intake.pipeline import Pipeline
from intake.render import Composer, TemplateCache
from intake.resources import templates_dir
from intake.sources.imap import ImapSource, PassReport
from intake.store import instance
from intake.store.db import Engine, Sessions, make_engine, make_sessions, require_current
from intake.store.health import DELIVERY, POLL, record_mark
from intake.store.personal_data import ErasureReport
from intake.store.unit import transaction

LINGER_SECONDS = 2.0  # how long `run` keeps the relay connection open after the last mail it sent
# All of `run`'s stopping: its threads, then its sender. A sender still busy then is killed (5 s more at most) and
# its log channel closed (5 s more): 25 s in all, inside systemd's TimeoutStopSec=30 (deploy/smat-intake.service).
STOP_SECONDS = 15.0
MARK_SECONDS = 30.0  # how stale a health mark may be: one small write per half minute at most


@dataclass
class Service:
    """The parts of one running smat-intake, built from one Settings."""

    settings: Settings
    engine: Engine
    sessions: Sessions
    pipeline: Pipeline
    drain: OutboxDrain
    log: logging.Logger
    wake_delivery: threading.Event = field(default_factory=threading.Event)
    # ImapSource timing (retry_seconds, poll_seconds, …); empty keeps its defaults, tests shorten them
    imap_timing: dict[str, float] = field(default_factory=dict)
    tokens: TokenSource | None = None  # [oauth2]: one token source shared by IMAP and SMTP
    marked: dict[str, float] = field(default_factory=dict)  # when this process last wrote each health mark
    linger_seconds: float = LINGER_SECONDS  # `run` keeps the relay connection this long after its last mail
    stop_seconds: float = STOP_SECONDS  # the time `run` gives its threads and sender to stop, all together
    delivery_engine: Engine | None = None  # delivery records and attempt counts: commits not waiting for the disk

    @classmethod
    def build(
        cls,
        settings: Settings,
        log: logging.Logger | None = None,
        check_schema: bool = True,
        template_cache: TemplateCache | None = None,
    ) -> Service:
        """Connect to the database (which `init` must have prepared) and build the pipeline.

        `template_cache` shares compiled templates with other services in this process (the tests).
        """
        log = log or logging.getLogger("intake")
        engine = make_engine(settings.database_url)
        if check_schema:
            require_current(engine)
        sessions = make_sessions(engine)
        composer = Composer(
            templates=templates_dir(),
            from_address=settings.mailbox.address,
            from_name=f"{settings.council.name} SMAT",
            cache=template_cache,
        )
        wake = threading.Event()
        # Delivery records and attempt counts need not wait for the disk (see make_engine): their own engine.
        shared = engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")
        delivery_engine = None if shared else make_engine(settings.database_url, durable=False)
        quick = make_sessions(delivery_engine) if delivery_engine is not None else sessions
        pipeline = Pipeline(
            settings, sessions, composer, log.getChild("pipeline"), on_mail_queued=wake.set, counting_sessions=quick
        )
        tokens = make_tokens(settings)
        graph_tokens = make_graph_tokens(settings)
        graph_token = graph_tokens.token if graph_tokens is not None else None
        notes = instance.beside(settings.database_url, "-sent")  # SQLite: sends noted until recorded
        drain = OutboxDrain(
            quick,
            lambda: make_transport(settings, tokens, graph_token),
            settings.outbox,
            log.getChild("delivery"),
            journal=SentJournal(notes) if notes is not None else None,
        )
        return cls(
            settings, engine, sessions, pipeline, drain, log, wake, tokens=tokens, delivery_engine=delivery_engine
        )

    def ingest(
        self, raw: bytes, source: str, source_key: str | None = None, envelope_recipients: Sequence[str] = ()
    ) -> Outcome:
        """Take in one message: `Pipeline.ingest` itself, for the command line and tests."""
        return self.pipeline.ingest(raw, source, source_key, envelope_recipients)

    def imap_source(self) -> ImapSource | None:
        """The IMAP source if [imap] is configured."""
        if self.settings.imap is None:
            return None
        return ImapSource(
            self.settings.imap,
            lambda raw, source, key: self.pipeline.ingest(raw, source, key),
            self.sessions,
            self.log.getChild("imap"),
            tokens=self.tokens,
            **self.imap_timing,
        )

    def deliver_until(self, stop: threading.Event) -> None:
        """`run`'s delivery thread: send what is due each time mail is queued (or a job wakes it), until `stop`.

        The relay's round trips are waited out while the next message is read; the connection is kept
        while mail keeps coming. On SQLite this thread waits for the one write lock to record each
        send, so while a backlog is taken in most of its mail goes after it (README, issue 13).
        """
        try:
            while not stop.is_set():
                # The relay connection is kept while drafts keep coming, closed after a quiet spell.
                if not self.wake_delivery.wait(timeout=self.linger_seconds):
                    self.drain.close_link()
                    self.wake_delivery.wait()
                self.wake_delivery.clear()
                if stop.is_set():
                    break
                try:
                    self.deliver(keep_open=True, count_waiting=False)
                except Exception:  # noqa: BLE001 - keep delivering; the error is logged
                    self.drain.close_link()
                    self.log.exception("outbox delivery failed; it will be retried")
        finally:
            self.drain.close_link()

    def deliver(self, keep_open: bool = False, count_waiting: bool = True) -> DeliveryReport:
        """Deliver what is due now and say what happened in one line if the relay is down (see `deliver_due`)."""
        report = self.drain.deliver_due(keep_open=keep_open, count_waiting=count_waiting)
        if report.problem:
            self.log.error(
                "mail delayed, not lost: %s; %d message(s) wait and will be retried", report.problem, report.waiting
            )
        else:
            self.mark(DELIVERY, f"sent {report.sent}")
        return report

    def deliver_unless_running(self) -> DeliveryReport | str:
        """A command's delivery: now, unless `run` serves this SQLite database; then the pid of that `run`.

        Its sender sends the mail at its next sweep ([outbox] retry_seconds). A drain here would free the
        claims of that sender's batch, as a dead process's, and those mails would go twice.
        """
        try:
            lock = instance.hold(self.settings.database_url, "deliver")
        except instance.AnotherInstance as running:
            return running.pid
        try:
            return self.deliver()
        finally:
            lock.release()

    def mark(self, name: str, detail: str = "") -> None:
        """Record for `status` that `name` (a pass, a delivery) went right; at most every MARK_SECONDS, never fatal."""
        now = time.monotonic()
        if now - self.marked.get(name, -MARK_SECONDS) < MARK_SECONDS:
            return
        self.marked[name] = now
        try:
            with transaction(self.sessions, "record the service's activity") as session:
                record_mark(session, name, detail)
        except IntakeError as exc:  # a busy database: the next pass or delivery records it
            self.log.warning("could not record the last %s for `status`: %s", name, exc)

    def send_digest(self, now: datetime | None = None) -> DigestRun:
        """Queue today's digest for the Clerk (once a day, whichever instance asks) and wake delivery."""
        result = send_digest(self.settings, self.sessions, self.pipeline.composer, now)
        if result.sent:
            self.wake_delivery.set()
        return result

    def send_report(self, month: date, now: datetime | None = None) -> ReportRun:
        """Queue a month's committee report for the Clerk (once a month, whichever instance asks) and wake delivery."""
        result = send_report(self.settings, self.sessions, self.pipeline.composer, month, now)
        if result.sent:
            self.wake_delivery.set()
        return result

    def scheduled_report(self, now: datetime | None = None) -> ReportRun | None:
        """Last month's report if it is due (from this month's first working day); None before then."""
        now = now or datetime.now(UTC)
        month = due_month(self.settings, now)
        return None if month is None else self.send_report(month, now)

    def apply_retention(self) -> ErasureReport:
        """Erase the personal data retention says has been kept long enough ([retention])."""
        return run_retention(self.settings, self.sessions, apply=True)

    def close(self) -> None:
        """Close the database connections (and the notes of sends)."""
        if self.drain.journal is not None:
            self.drain.journal.close()
        self.engine.dispose()
        if self.delivery_engine is not None:
            self.delivery_engine.dispose()


def run(
    service: Service, backlog: bool = False, stop: threading.Event | None = None, delivery_process: bool = True
) -> None:
    """Run every configured source, outbox delivery and the scheduler until SIGTERM/SIGINT or `stop`.

    Delivery runs in a process of its own (intake/delivery/process.py); `delivery_process=False` keeps it
    a thread of this one, for a test that changes the service's delivery as it runs.
    """
    settings, log = service.settings, service.log
    stop = stop or threading.Event()
    if settings.imap is None and settings.listener is None:
        raise IntakeError(f"{settings.path}: nothing to read mail from; configure [imap] or [listener] (or both).")

    sender = DeliveryProcess(settings, log, service.linger_seconds) if delivery_process else None
    # The delivery thread: wake-ups passed on to the sender process, or the sending itself.
    deliver = functools.partial(sender.forward, service.wake_delivery) if sender else service.deliver_until
    threads = [threading.Thread(target=deliver, args=(stop,), name="delivery", daemon=True)]
    imap = service.imap_source()
    if imap is not None:

        def after_pass(report: PassReport) -> None:
            service.mark(POLL, f"took in {report.taken}")
            if report.taken:
                log.info("took in %d message(s) from IMAP", report.taken)

        threads.append(
            threading.Thread(
                target=imap.run, kwargs={"backlog": backlog, "on_pass": after_pass}, name="imap", daemon=True
            )
        )

    listener = None
    if settings.listener is not None:
        from intake.sources.listener import make_listener  # aiosmtpd only when a listener is configured

        listener = make_listener(settings.listener, service.pipeline.ingest, log.getChild("listener"))

    def digest_job() -> None:
        try:
            result = service.send_digest()
        except Exception:  # noqa: BLE001 - the scheduler goes on; tomorrow's digest still comes
            log.exception("the daily digest could not be built or queued")
            return
        log.info("digest for %s %s", result.day, "queued" if result.sent else "was already sent")

    def report_job() -> None:
        try:
            result = service.scheduled_report()
        except Exception:  # noqa: BLE001 - the scheduler goes on; the next weekday tries again
            log.exception("the monthly committee report could not be built or queued")
            return
        if result is not None:
            log.info(
                "committee report for %s %s", f"{result.month:%Y-%m}", "queued" if result.sent else "was already sent"
            )

    def retention_job() -> None:
        try:
            report = service.apply_retention()
        except Exception:  # noqa: BLE001 - tried again tomorrow
            log.exception("the retention period could not be applied")
            return
        if report.anything:
            log.info(
                "retention: erased the personal data of %d item(s) and %d message(s)",
                len(report.erased_items),
                report.messages,
            )

    from intake.scheduler import make_scheduler  # APScheduler only for `run`: other commands start sooner

    scheduler = make_scheduler(settings, service.wake_delivery.set, digest_job, report_job, retention_job)

    def on_signal(signum: int, _frame: object) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    lock = instance.hold(settings.database_url, "start")  # SQLite: one running instance per database
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        if sender is not None:
            sender.start()  # before any thread of ours: while this is the only thread it is forked directly
        if listener is not None and settings.listener is not None:
            where = f"{settings.listener.host}:{settings.listener.port}"
            try:
                # aiosmtpd reports a taken port only after its 10-second ready timeout; try the port first.
                socket.create_server((settings.listener.host, settings.listener.port)).close()
                listener.start()
            except Exception as exc:  # noqa: BLE001 - most often the port is taken
                raise IntakeError(f"{settings.path}: [listener] cannot listen on {where}: {exc}") from None
            log.info("listening for %s on %s", settings.listener.protocol.upper(), where)
        for thread in threads:
            thread.start()
        scheduler.start()
        service.wake_delivery.set()  # deliver anything left from last time
        log.info("smat-intake is running for %s; mail goes %s", settings.mailbox.address, _where_mail_goes(settings))
        _warn_of_roster_drift(service)
        stop.wait()
    finally:
        stop.set()
        if listener is not None:
            try:
                listener.stop()
            except Exception:  # noqa: BLE001
                pass
        if imap is not None:
            imap.stop()
        service.wake_delivery.set()
        if scheduler.running:
            scheduler.shutdown(wait=False)
        deadline = time.monotonic() + service.stop_seconds
        for thread in threads:
            if thread.is_alive():  # (not started, when `run` failed as it began)
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
            if thread.is_alive():  # a daemon thread: it ends with the process, whatever it is waiting for
                log.warning("the %s thread did not stop within %.0f s; leaving it", thread.name, service.stop_seconds)
        if sender is not None:
            sender.stop(timeout=max(1.0, deadline - time.monotonic()))
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        lock.release()
        log.info("stopped")


def _warn_of_roster_drift(service: Service) -> None:
    """Say once, at start, when [[people]] was edited after the roster was seeded: the database's copy rules."""
    from intake.store.roster import drift
    from intake.store.unit import reading

    with reading(service.sessions, "read the roster") as session:
        changed = drift(session, service.settings)
    if changed:
        service.log.warning(
            "%s: [[people]] differs from the roster in the database for %s; the database's roster is used "
            "(see `smat-intake roster list`; change it with `smat-intake roster add|remove`)",
            service.settings.path,
            ", ".join(changed),
        )


def _where_mail_goes(settings: Settings) -> str:
    if settings.graph is not None:
        return f"out through Microsoft Graph as {settings.graph.user}"
    if settings.smtp is not None:
        return f"out through {settings.smtp.host}:{settings.smtp.port}"
    return f"into the folder {settings.outbox.folder}"
