"""The long-running service: IDLE brings a draft in within seconds, a dropped connection is
reconnected, and the listener, IMAP and delivery all stop cleanly."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest
from builders import REVIEWERS, draft, settings_for

from intake.service import Service, run
from intake.store.db import make_engine, upgrade


@pytest.fixture
def running_service(tmp_path, mailbox, smtp_sink):
    handles = []

    def start(**imap_options):
        url = f"sqlite:///{tmp_path}/smat.db"
        upgrade(make_engine(url))
        settings = settings_for(tmp_path, url, imap=mailbox, smtp=smtp_sink, overrides={"imap": imap_options})
        service = Service.build(settings)
        stop = threading.Event()
        thread = threading.Thread(target=run, args=(service,), kwargs={"stop": stop}, daemon=True)
        thread.start()
        handles.append((service, stop, thread))
        return service, stop, thread

    yield start
    for service, stop, thread in handles:
        stop.set()
        thread.join(timeout=20)
        service.close()


def wait_until(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_idle_brings_a_new_draft_to_its_acknowledgement_within_seconds(running_service, mailbox, smtp_sink):
    service, stop, thread = running_service()
    assert wait_until(lambda: "Processed" in mailbox.folders())
    time.sleep(0.5)  # the service is now waiting in IDLE
    started = time.monotonic()
    mailbox.append(draft(subject="Fun run on Sunday"))
    captured = smtp_sink.wait_for(1 + len(REVIEWERS), timeout=15)
    elapsed = time.monotonic() - started
    assert any(c.message["X-SMAT-Purpose"] == "acknowledgement" for c in captured)
    # Far less than one poll interval (poll_seconds is 5 here, IDLE renews every 10 minutes).
    assert elapsed < 4, f"took {elapsed:.1f} s"


def test_a_dropped_connection_is_reconnected_and_mail_still_arrives(running_service, mailbox, smtp_sink):
    service, stop, thread = running_service()
    assert wait_until(lambda: "Processed" in mailbox.folders())
    time.sleep(0.5)
    # Cut the service's connection from the server side, as a restart or a NAT timeout would.
    subprocess.run(
        ["doveadm", "-c", str(mailbox.conf), "kick", mailbox.user], check=True, capture_output=True, timeout=10
    )
    mailbox.append(draft(subject="After the drop"))
    captured = smtp_sink.wait_for(1 + len(REVIEWERS), timeout=30)
    assert any("After the drop" in c.message["Subject"] for c in captured)


def test_without_idle_the_folder_is_polled(running_service, mailbox, smtp_sink):
    service, stop, thread = running_service(idle=False, poll_seconds=5)
    assert wait_until(lambda: "Processed" in mailbox.folders())
    mailbox.append(draft(subject="Polled draft"))
    captured = smtp_sink.wait_for(1 + len(REVIEWERS), timeout=20)
    assert any("Polled draft" in c.message["Subject"] for c in captured)


def test_run_stops_cleanly_when_asked(running_service):
    service, stop, thread = running_service()
    time.sleep(1)
    stop.set()
    thread.join(timeout=20)
    assert not thread.is_alive()
