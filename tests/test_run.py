"""The long-running service: IDLE brings a draft in within seconds, a dropped connection is
reconnected, polling works without IDLE, and the listener, IMAP and delivery all stop cleanly."""

from __future__ import annotations

import itertools
import socket
import subprocess
import threading
import time

import pytest
from samples import draft
from sqlalchemy import text
from support import REVIEWERS, LogRecorder, make_service, wait_until

from intake.service import Service, run

# Short waits so that the tests need not sit out the production ones (5 s reconnect, 60 s poll).
FAST = {"retry_seconds": 0.05, "max_retry_seconds": 0.2, "poll_seconds": 0.1}
_names = itertools.count()


class Running:
    """One `run()` in a thread: its service, its stop event, its log and whatever it raised."""

    def __init__(self, service: Service, log: LogRecorder, delivery_process: bool = True) -> None:
        self.service, self.log, self.delivery_process = service, log, delivery_process
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            run(self.service, stop=self.stop, delivery_process=self.delivery_process)
        except BaseException as exc:  # noqa: BLE001 - kept for the test to see
            self.error = exc

    def is_ready(self) -> bool:
        """The service said it is running and the IMAP source has looked at the folder once (its
        position is stored, so later mail is new mail); fails at once if run() has ended."""
        if self.error is not None or not self.thread.is_alive():
            raise AssertionError(f"run() ended early: {self.error!r}")
        if not self.log.has("smat-intake is running"):
            return False
        with self.service.sessions() as session:
            return bool(session.execute(text("SELECT count(*) FROM mailbox_state")).scalar())

    def ready(self) -> None:
        """Wait until is_ready()."""
        wait_until(self.is_ready, what="the service to be running", timeout=20)


@pytest.fixture
def running_service(tmp_path, mailbox, smtp_sink):
    handles: list[Running] = []

    def start(**imap_options) -> Running:
        log = LogRecorder(f"test-run-{next(_names)}")
        url = f"sqlite:///{tmp_path}/smat.db"
        service = make_service(tmp_path, url, imap=mailbox, smtp=smtp_sink, overrides={"imap": imap_options})
        service.log = log.logger
        service.imap_timing = dict(FAST)
        handle = Running(service, log)
        handles.append(handle)
        handle.thread.start()
        return handle

    yield start
    for handle in handles:
        handle.stop.set()
        handle.thread.join(timeout=20)
        handle.service.close()
        handle.log.close()


def test_idle_brings_a_new_draft_to_its_acknowledgement_within_seconds(running_service, mailbox, smtp_sink):
    handle = running_service()
    handle.ready()
    assert handle.log.has("(IDLE)")
    started = time.monotonic()
    mailbox.append(draft(subject="Fun run on Sunday"))
    captured = smtp_sink.wait_for(1 + len(REVIEWERS), timeout=15)
    elapsed = time.monotonic() - started
    assert any(c.message["X-SMAT-Purpose"] == "acknowledgement" for c in captured)
    # Far less than one poll interval ([imap] poll_seconds is 5 here, IDLE renews every 10 minutes).
    assert elapsed < 4, f"took {elapsed:.1f} s"


def test_a_dropped_connection_is_reconnected_and_mail_still_arrives(running_service, mailbox, smtp_sink):
    handle = running_service()
    handle.ready()
    # Cut the service's connection from the server side, as a restart or a NAT timeout would.
    subprocess.run(
        ["doveadm", "-c", str(mailbox.conf), "kick", mailbox.user], check=True, capture_output=True, timeout=10
    )
    wait_until(lambda: handle.log.has("dropped the connection"), what="the drop to be noticed")
    mailbox.append(draft(subject="After the drop"))
    captured = smtp_sink.wait_for(1 + len(REVIEWERS), timeout=30)
    assert any("After the drop" in c.message["Subject"] for c in captured)
    assert sum("watching" in m for m in handle.log.messages) >= 2  # it really connected again


def test_a_server_refusing_idle_as_it_starts_is_reconnected_and_mail_still_arrives(
    running_service, mailbox, smtp_sink, monkeypatch
):
    # A server kicking the session just as IDLE starts answers it with a tagged BYE, which imap-tools
    # raises as its own error (not imaplib's): the IMAP thread died on it and no more mail came in.
    from imap_tools.errors import MailboxTaggedResponseError
    from imap_tools.idle import IdleManager

    start = IdleManager.start
    refused = []

    def refuse_once(self):
        if not refused:
            refused.append(True)
            raise MailboxTaggedResponseError(("BYE", [b"Disconnected for inactivity."]), "IDLE start")
        return start(self)

    monkeypatch.setattr(IdleManager, "start", refuse_once)
    handle = running_service()
    handle.ready()
    wait_until(lambda: handle.log.has("dropped the connection"), what="the refused IDLE to be noticed")
    mailbox.append(draft(subject="After the refused IDLE"))
    captured = smtp_sink.wait_for(1 + len(REVIEWERS), timeout=30)
    assert any("After the refused IDLE" in c.message["Subject"] for c in captured)
    assert sum("watching" in m for m in handle.log.messages) >= 2  # it really connected again


def test_without_idle_the_folder_is_polled(running_service, mailbox, smtp_sink):
    handle = running_service(idle=False)
    handle.ready()
    assert handle.log.has("polling every 0.1 s")
    mailbox.append(draft(subject="Polled draft"))
    captured = smtp_sink.wait_for(1 + len(REVIEWERS), timeout=20)
    assert any("Polled draft" in c.message["Subject"] for c in captured)


def test_run_stops_cleanly_when_asked(running_service):
    handle = running_service()
    handle.ready()  # fails if run() died at start
    handle.stop.set()
    handle.thread.join(timeout=20)
    assert not handle.thread.is_alive()
    assert handle.error is None
    assert handle.log.messages[-1] == "stopped"


def test_the_default_timing_is_the_production_one(service_for, sqlite_url, mailbox):
    source = service_for(sqlite_url, imap=mailbox).imap_source()
    assert source is not None
    assert (source.retry_seconds, source.max_retry_seconds, source.idle_renew_seconds) == (5, 300, 600)
    assert source.poll_seconds == 5  # [imap] poll_seconds as configured by support.settings_for


def test_run_stops_within_its_time_even_when_a_thread_is_stuck_and_says_which(running_service):
    # systemd kills a service still stopping after TimeoutStopSec (30 s): `run` gave each thread 15 s and its
    # sender 15 s more. A mailbox that accepts the connection and never greets holds the IMAP thread in its
    # first read, where stopping cannot wake it; the stop now has one time for everything.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        silent.settimeout(20)
        host, port = silent.getsockname()[:2]
        handle = running_service(host=host, port=port, timeout=120)
        handle.service.stop_seconds = 1.0
        connection, _ = silent.accept()  # the IMAP thread has connected, and waits for a greeting
        with connection:
            wait_until(lambda: handle.log.has("smat-intake is running"), what="the service to be running")
            started = time.monotonic()
            handle.stop.set()
            handle.thread.join(timeout=20)
            stopped_in, said = time.monotonic() - started, list(handle.log.messages)
    assert not handle.thread.is_alive() and handle.error is None
    assert stopped_in < 4, f"stopping took {stopped_in:.1f} s"
    assert said[-2:] == ["the imap thread did not stop within 1 s; leaving it", "stopped"]
