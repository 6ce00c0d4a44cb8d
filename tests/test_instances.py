"""Several instances: two `run`s on one PostgreSQL database and one mailbox share the work, each item and
each acknowledgement once; on SQLite a second instance says why it will not start, and a killed one
leaves no stale lock behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from email.parser import BytesHeaderParser
from email.policy import default
from pathlib import Path

import pytest
from faults_soak import ACK, append_all
from samples import draft
from sqlalchemy import create_engine, func, select
from support import imap_section, run_cli, wait_until, write_config

from intake.store.models import Item, OutboxMessage

TWO_INSTANCE_MESSAGES = int(os.environ.get("SMAT_INSTANCES_MESSAGES", "1000"))


class Child:
    """`smat-intake --config … <command>` in a process of its own, its stderr collected line by line."""

    def __init__(self, config: Path, *command: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "intake", "--config", str(config), *command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def ready(self, timeout: float = 120) -> None:
        wait_until(lambda: "is running for" in self.text or self.proc.poll() is not None, timeout, what="ready")
        assert self.proc.poll() is None, self.text

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def configure(tmp_path: Path, url: str, mailbox, smtp_sink) -> Path:
    smtp = {"host": smtp_sink.host, "port": smtp_sink.port, "security": "none"}
    return write_config(tmp_path, url, imap=imap_section(mailbox), smtp=smtp)


def test_on_sqlite_a_second_instance_says_why_it_will_not_start_and_a_killed_one_leaves_no_lock(
    mailbox, smtp_sink, sqlite_url, tmp_path
):
    config = configure(tmp_path, sqlite_url, mailbox, smtp_sink)
    assert run_cli(["--config", str(config), "init"]).returncode == 0  # in this process: no interpreter to start
    first = Child(config, "run")
    try:
        first.ready()
        seconds = [Child(config, *command) for command in (("run",), ("poll", "--once"))]  # both at once
        for second in seconds:
            assert second.finish() == 1
            said = second.text
            assert f"another smat-intake (process {first.proc.pid}) is already working on the SQLite database" in said
            assert "use PostgreSQL to run several instances" in said
        mailbox.append(draft(subject="Still served by the first"))
        wait_until(lambda: any("Still served" in (c.message["Subject"] or "") for c in smtp_sink.captured), 60)
    finally:
        first.proc.kill()  # SIGKILL: no clean-up runs, the kernel drops the lock with the process
        first.finish()
    again = Child(config, "run")
    try:
        again.ready()
    finally:
        again.stop()


@pytest.mark.slow
def test_two_instances_on_one_postgresql_database_and_one_mailbox_take_each_message_once(
    mailbox, smtp_sink, pg, tmp_path
):
    url = pg.create_database()
    config = configure(tmp_path, url, mailbox, smtp_sink)
    assert run_cli(["--config", str(config), "init"]).returncode == 0  # in this process: no interpreter to start
    assert run_cli(["--config", str(config), "poll", "--once"]).returncode == 0
    runs = [Child(config, "run"), Child(config, "run")]
    engine = create_engine(url)
    try:
        for child in runs:
            child.ready()
        n = TWO_INSTANCE_MESSAGES
        append_all(mailbox, [draft(sender=f"r{k}@example.com", subject=f"Shared draft {k}") for k in range(n)])

        def acks() -> Counter[str]:
            """Each acknowledgement's Message-ID, counted (a captured mail's header is parsed once, when first read)."""
            captured = list(smtp_sink.captured)
            return Counter(str(c.headers["Message-ID"]) for c in captured if c.headers["X-SMAT-Purpose"] == ACK)

        wait_until(lambda: len(acks()) >= n, timeout=900, what=f"{n} acknowledgements")
        wait_until(lambda: not mailbox.uids("INBOX"), timeout=60, what="an empty inbox")
        with engine.connect() as conn:
            wait_until(
                lambda: (
                    conn.execute(
                        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
                    ).scalar_one()
                    == 0
                ),
                timeout=120,
                what="every mail sent",
            )
            subjects = Counter(conn.execute(select(Item.subject)).scalars().all())
    finally:
        for child in runs:
            child.stop()
        engine.dispose()
        pg.drop_later(url)

    assert sorted(subjects) == sorted(f"Shared draft {k}" for k in range(n)) and set(subjects.values()) == {1}
    counted = acks()
    assert len(counted) == n and set(counted.values()) == {1}, [m for m, c in counted.items() if c > 1]
    # Every message is in the processed folder. Two sessions moving the same UID at the same moment can
    # each copy it there before either expunges it (IMAP MOVE is copy + expunge), so count by Message-ID.
    processed = Counter(
        str(BytesHeaderParser(policy=default).parsebytes(raw)["Message-ID"]) for raw in mailbox.fetch_raw("Processed")
    )
    assert len(processed) == n and not mailbox.uids("INBOX")
    # Both watched the one mailbox; which of them took each message is a race, and either may take all.
    assert all("watching INBOX" in child.text for child in runs)
