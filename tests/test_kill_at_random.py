"""Proof under fault: the process killed at random while taking in a backlog loses none and makes none twice."""

from __future__ import annotations

import os
import random
import selectors
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from email import message_from_bytes
from email.policy import default
from typing import Any

import pytest
from samples import draft
from sqlalchemy import create_engine, func, select, text
from support import imap_section, write_config

from intake.store.models import Item, Message, OutboxMessage

MESSAGES = 120  # the backlog at the start
MORE = 40  # more mail, should the backlog be taken in before MIN_KILLS kills have landed
MIN_KILLS = 3


def arrive(mailbox: Any, first: int, count: int) -> int:
    """Drafts numbered first … first + count - 1 put in the inbox; how many have arrived in all."""
    for n in range(first, first + count):
        mailbox.append(draft(sender=f"resident{n}@example.com", subject=f"Draft number {n}"))
    return first + count


# The kill clock must start when the process is ready, never in the interpreter's start-up. A
# parent imports everything `smat-intake` uses once, then forks one child per command: each child
# is a real process, ready the moment it exists, and the SIGKILL lands in its real work. PRELUDE
# may change what the children do (it runs in the parent, before any fork); each child calls
# COMMAND (by default `cli.main`) with the words of its line and exits with what it returns.
FORKER = textwrap.dedent(
    """
    import os, sys
    from intake import cli
    import intake.service, intake.sources.imap, intake.store.db  # what the commands will use
    COMMAND = cli.main
    PRELUDE
    print("ready", flush=True)
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            out = os.open(os.devnull, os.O_WRONLY)
            os.dup2(out, 1)
            os._exit(COMMAND(line.split()))
        print("started", pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print("exit", os.waitstatus_to_exitcode(status), flush=True)
    """
)


class Forker:
    """Runs `smat-intake` commands as forked children of one ready parent; kills them on request."""

    def __init__(self, config: str, stderr: Any, prelude: str = "") -> None:
        self.config = config
        script = FORKER.replace("PRELUDE", textwrap.dedent(prelude).strip() or "pass")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr
        )
        self.buffer = b""
        assert self.line(60) == "ready"

    def line(self, timeout: float) -> str | None:
        """The parent's next line, or None if none comes within *timeout* seconds."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            with selectors.DefaultSelector() as waiting:
                waiting.register(self.proc.stdout, selectors.EVENT_READ)
                if not waiting.select(left):
                    return None
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            assert chunk, "the forking parent died"
            self.buffer += chunk
        first, self.buffer = self.buffer.split(b"\n", 1)
        return first.decode()

    def start(self, *args: str) -> int:
        """Fork a child running the command; returns its pid the moment it exists."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(" ".join(["--config", self.config, *args]).encode() + b"\n")
        self.proc.stdin.flush()
        started = self.line(60)
        assert started is not None and started.startswith("started "), started
        return int(started.split()[1])

    def result(self, timeout: float) -> int | None:
        """The child's exit code, or None while it is still running after *timeout* seconds."""
        done = self.line(timeout)
        return None if done is None else int(done.split()[1])

    def run(self, *args: str) -> int:
        """Run one command to its end."""
        self.start(*args)
        code = self.result(120)
        assert code is not None
        return code

    def close(self) -> None:
        """End the parent."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.mark.slow  # a long proof: scripts/test runs it after the product suite
def test_sigkill_at_random_moments_loses_no_message_and_makes_no_item_twice(mailbox, tmp_path):
    db = f"sqlite:///{tmp_path}/smat.db"
    config = write_config(tmp_path, db, imap=imap_section(mailbox), outbox={"folder": str(tmp_path / "outbox")})

    errors = open(tmp_path / "children.log", "wb")  # noqa: SIM115 - closed below
    forker = Forker(str(config), errors)
    try:
        assert forker.run("init") == 0
        assert forker.run("poll", "--once") == 0  # first look: an empty mailbox
        arrived = arrive(mailbox, 0, MESSAGES)

        rng = random.Random(42)
        kills = 0
        # A run of the whole backlog takes a few seconds on a quiet machine. On a busy one a child can
        # be killed again and again before it takes anything, so the window widens after each kill
        # that left the inbox as it was, and narrows back once mail moves.
        window, waiting = 1.0, len(mailbox.uids("INBOX"))
        for attempt in range(200):
            pid = forker.start("poll", "--once")  # the kill clock starts now: the child is ready
            code = forker.result(rng.uniform(0.05, window))
            if code is None:
                os.kill(pid, signal.SIGKILL)
                assert forker.result(30) == -signal.SIGKILL
                kills += 1
                left = len(mailbox.uids("INBOX"))
                window = 1.0 if left < waiting else min(window * 1.5, 30.0)
                waiting = left
                print(f"attempt {attempt}: killed with {left} messages still in the inbox")
                continue
            assert code == 0, (tmp_path / "children.log").read_text()
            if not mailbox.uids("INBOX"):
                if kills >= MIN_KILLS:
                    break
                # The whole backlog was taken in before three kills landed (a quick hour for the machine):
                # more mail comes in, as it would, until they have. It failed for want of kills before.
                arrived, waiting = arrive(mailbox, arrived, MORE), MORE
    finally:
        forker.close()
        errors.close()
    assert kills >= MIN_KILLS, "the process was not killed mid-run three times; the test proves too little"
    assert mailbox.uids("INBOX") == []

    engine = create_engine(db)
    with engine.connect() as conn:
        kept, given_up = [], 0
        columns = (Item.subject, Item.status, Item.quarantine_reason, Message.raw)
        for subject, state, reason, raw in conn.execute(select(*columns).join(Message, Message.item_id == Item.id)):
            if state == "quarantined":
                # A message in hand at three of these kills cannot be told from a poison message: it is kept
                # whole and quarantined for the Clerk on its fourth start (README, "Under fault"). Not lost.
                assert "never finished" in reason
                subject, given_up = str(message_from_bytes(raw, policy=default)["Subject"]), given_up + 1
            kept.append(subject)
        assert sorted(kept) == sorted(f"Draft number {n}" for n in range(arrived))  # each exactly once
        assert given_up * 3 <= kills
        assert conn.execute(select(func.count()).select_from(Message)).scalar() == arrived
        per_item = conn.execute(select(OutboxMessage.purpose, func.count()).group_by(OutboxMessage.purpose)).all()
        answered = arrived - given_up
        assert dict(per_item) == {"acknowledgement": answered, "review-request": 3 * answered}
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        status = dict(conn.execute(select(OutboxMessage.message_id, OutboxMessage.status)).all())
    engine.dispose()

    # Killed during delivery too: the next run sends a dead run's claims at once, so after the last
    # clean run every message is sent and delivered. A kill between the write and our commit can
    # make one resend per kill (at least once), with the same bytes, so the same Message-ID.
    files = [path.read_bytes() for path in (tmp_path / "outbox").glob("*.eml")]
    delivered = [message_from_bytes(raw, policy=default)["Message-ID"].strip("<>") for raw in files]
    assert set(status.values()) == {"sent"}
    assert set(delivered) == set(status)
    twice = {mid: n for mid, n in Counter(delivered).items() if n > 1}
    print(f"{len(status)} messages, {kills} kills, {len(twice)} delivered twice (same Message-ID), {given_up} given up")
    assert len(delivered) - len(status) <= kills and set(twice.values()) <= {2}
    for mid in twice:
        copies = {raw.split(b"\r\n", 2)[2] for raw, m in zip(files, delivered, strict=True) if m == mid}
        assert len(copies) == 1  # the resend carries the stored bytes
    assert len(mailbox.uids("Processed")) == arrived
