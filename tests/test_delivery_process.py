"""`run` sends from a process of its own (issue 13: taking a backlog in and sending its mail at once):
the sender is started again if it dies, it dies with `run`, so no sender outlives the service, and a
command beside a running service on SQLite leaves the sending to it."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

from samples import draft
from sqlalchemy import select
from support import TEMPLATES, TOWN_MAILBOX, wait_until, write_config
from test_cli import init_db, intake, listening_config, start_run, wait_serving

from intake.config import load
from intake.service import Service
from intake.store import instance
from intake.store.models import OutboxMessage, utcnow


def children_of(pid: int) -> list[tuple[int, bytes]]:
    """The processes `pid` started, with their command lines."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if parent == pid:
            found.append((int(entry.name), command))
    return found


def senders_of(pid: int) -> list[int]:
    """`run`'s sender: its child, or (started again while `run` has threads) the child of its fork server.

    Multiprocessing's resource tracker is a child as well, and is not a sender.
    """
    found = []
    for child, command in children_of(pid):
        if b"forkserver" in command:
            found += [grandchild for grandchild, _ in children_of(child)]
        elif b"resource_tracker" not in command:
            found.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its exit status waits to be collected


def send_draft(port: int, subject: str) -> None:
    msg = EmailMessage()
    msg["From"] = "Cllr Example <cllr@town.example>"
    msg["To"] = TOWN_MAILBOX
    msg["Subject"] = subject
    msg.set_content("The Market Square lights are switched on at six.\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        assert client.send_message(msg) == {}


def test_run_sends_from_its_own_process_restarts_it_when_it_dies_and_takes_it_down_when_killed(tmp_path):
    config, port = listening_config(tmp_path)
    outbox = tmp_path / "outbox"
    proc = start_run(config)
    try:
        wait_serving(proc, port)
        first = wait_until(lambda: senders_of(proc.pid) or None, timeout=20, what="run's sender process")
        assert len(first) == 1

        send_draft(port, "Draft: lights switch-on")
        wait_until(lambda: len(list(outbox.glob("*.eml"))) >= 4, timeout=20, what="the first draft's 4 mails")

        os.kill(first[0], signal.SIGKILL)  # the sender dies: mail waits, and a new sender takes it
        send_draft(port, "Draft: carol service")
        wait_until(lambda: len(list(outbox.glob("*.eml"))) >= 8, timeout=30, what="the second draft's 4 mails")
        second = senders_of(proc.pid)
        assert len(second) == 1 and second != first

        proc.send_signal(signal.SIGKILL)  # `run` killed: its sender must not go on alone
        proc.wait(timeout=15)
        wait_until(lambda: not alive(second[0]), timeout=10, what="the sender to die with run")
    finally:
        if proc.poll() is None:
            proc.kill()
        _, stderr = proc.communicate(timeout=10)
    assert "the delivery process stopped (exit code -9); starting it again" in stderr
    assert len(list(outbox.glob("*.eml"))) == 8  # nothing sent twice


def test_on_sqlite_a_command_beside_a_running_service_leaves_the_sending_to_it(tmp_path):
    # `deliver`, `ingest`, `digest` and `report` drain the outbox; on SQLite a drain first frees every
    # claim as a dead process's. Beside a live `run`, that would send its sender's batch a second time.
    config = write_config(tmp_path)
    init_db(config)
    settings = load(config)
    service = Service.build(settings, template_cache=TEMPLATES)
    try:
        service.ingest(draft(), "file")
        with service.sessions.begin() as session:  # the running sender's claim on the first mail
            row = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
            row.status, row.claimed_at = "sending", utcnow()
        running = instance.hold(settings.database_url, "start")  # what `run` holds while it serves
        try:
            result = intake(config, "deliver")
            ingested = intake(config, "ingest", str(write_draft(tmp_path)))
        finally:
            running.release()
        with service.sessions() as session:
            statuses = list(session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))
    finally:
        service.close()
    assert result.returncode == 0, result.stderr
    assert f"nothing sent from here: smat-intake (process {os.getpid()}) is running on this database" in result.stdout
    assert ingested.returncode == 0 and "its mail: smat-intake (process" in ingested.stdout
    assert statuses == ["sending"] + ["pending"] * 7  # the claim kept; nothing sent from the commands
    assert not list((tmp_path / "outbox").glob("*.eml"))


def write_draft(tmp_path: Path) -> Path:
    path = tmp_path / "second.eml"
    path.write_bytes(draft(subject="A second draft", sender="other@example.com", name="Other Resident"))
    return path


BUSY_SENDER = """
import multiprocessing, os, sys, time
from intake.delivery.process import die_with_parent

def busy(parent, ready):
    die_with_parent(parent)
    open(ready, "w").close()
    time.sleep(600)  # as a sender in the middle of a long send: it does not look at its pipe

if __name__ == "__main__":
    child = multiprocessing.get_context("forkserver").Process(target=busy, args=(os.getpid(), sys.argv[1]))
    child.start()
    print(child.pid, flush=True)
    time.sleep(600)
"""


def test_a_sender_started_by_the_fork_server_ends_at_once_when_run_is_killed_even_in_the_middle_of_a_send(tmp_path):
    # A sender started again while `run` has threads is the fork server's child: the kernel would tell
    # the fork server, not the sender, that `run` died. The sender watches `run` itself.
    script = tmp_path / "busy_sender.py"
    script.write_text(BUSY_SENDER)
    ready = tmp_path / "watching"
    parent = subprocess.Popen([sys.executable, str(script), str(ready)], stdout=subprocess.PIPE, text=True)
    try:
        sender = int(parent.stdout.readline())
        assert alive(sender) and sender not in [pid for pid, _ in children_of(parent.pid)]  # a grandchild
        wait_until(ready.exists, timeout=20, what="the sender to watch run")
        parent.kill()
        parent.wait(timeout=10)
        wait_until(lambda: not alive(sender), timeout=10, what="the fork server's sender to end with run")
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.stdout.close()
