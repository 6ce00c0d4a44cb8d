"""The kill soak, shared by tests/test_kill_soak.py and bench/faults.py: a backlog in real Dovecot,
`poll --once` and `run` SIGKILLed at random once ready, then counted at the SMTP sink by Message-ID."""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samples import draft
from sqlalchemy import create_engine, func, select
from support import imap_section, write_config
from test_kill_at_random import Forker

from intake.store.models import Item, Message, OutboxMessage

ACK = "acknowledgement"


@dataclass
class SoakFigures:
    """What a kill soak did and found."""

    injected: int = 0
    ingested: int = 0  # items made
    quarantined: int = 0
    duplicated: int = 0  # items beyond one per injected message
    lost: int = 0  # injected messages with no item
    kills: int = 0
    recoveries: int = 0  # clean runs after the last kill that brought everything in
    acks_expected: int = 0
    acks_sent: int = 0  # distinct acknowledgements that reached the SMTP server
    acks_twice: int = 0  # of them, how many reached it more than once (same Message-ID)
    seconds_after_last_restart: float = 0.0  # until the last acknowledgement arrived
    seconds_to_finish: float = 0.0  # the clean run(s) after the last kill, taking in what was left
    unsent_after_recovery: int = 0  # outbox rows not sent when the clean runs ended (a stale claim would show)
    processed_folder: int = 0
    inbox_left: int = 0
    commands: Counter[str] = field(default_factory=Counter)


def append_all(mailbox: Any, raws: list[bytes]) -> None:
    """APPEND every message over one connection (the testbed's append opens one each)."""
    with mailbox.connect(initial_folder=None) as box:
        for raw in raws:
            box.append(raw, "INBOX")


def kill_soak(
    mailbox: Any, sink: Any, workdir: Path, messages: int = 500, kills: int = 20, seed: int = 12
) -> SoakFigures:
    """Run the soak; returns its figures (the caller asserts on them)."""
    db = f"sqlite:///{workdir}/smat.db"
    smtp = {"host": sink.host, "port": sink.port, "security": "none"}
    config = write_config(workdir, db, imap=imap_section(mailbox), smtp=smtp)
    figures = SoakFigures(injected=messages)
    errors = open(workdir / "children.log", "wb")  # noqa: SIM115 - closed below
    forker = Forker(str(config), errors)
    rng = random.Random(seed)
    try:
        assert forker.run("init") == 0
        assert forker.run("poll", "--once") == 0  # the first look: an empty inbox
        append_all(
            mailbox,
            [
                draft(sender=f"resident{n}@example.com", subject=f"Soak draft {n}", photos=1 if n % 5 == 0 else 0)
                for n in range(messages)
            ],
        )
        while figures.kills < kills:
            command = ("run",) if figures.kills % 2 else ("poll", "--once")
            pid = forker.start(*command)  # the kill clock starts now: the child is a ready, forked process
            figures.commands[command[0]] += 1
            code = forker.result(rng.uniform(0.05, 0.8))
            if code is None:
                os.kill(pid, signal.SIGKILL)
                assert forker.result(30) == -signal.SIGKILL
                figures.kills += 1
            else:
                assert code == 0, (workdir / "children.log").read_text()
        restarted = time.monotonic()
        for _ in range(20):  # clean runs until the inbox is empty and the outbox sent
            forker.start("poll", "--once")
            assert forker.result(900) == 0, (workdir / "children.log").read_text()
            figures.recoveries += 1
            if not mailbox.uids("INBOX") and _unsent(db) == 0:
                break
        figures.seconds_to_finish = time.monotonic() - restarted  # the clean run: the rest of the backlog too
        figures.unsent_after_recovery = _unsent(db)
        figures.acks_expected = messages
        acks: Counter[str] = Counter()
        deadline = restarted + 120
        while True:
            acks = Counter(c.headers["Message-ID"] for c in list(sink.captured) if c.headers["X-SMAT-Purpose"] == ACK)
            if len(acks) >= messages or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        figures.seconds_after_last_restart = time.monotonic() - restarted
        figures.acks_sent = len(acks)
        figures.acks_twice = sum(1 for n in acks.values() if n > 1)
    finally:
        forker.close()
        errors.close()

    engine = create_engine(db)
    with engine.connect() as conn:
        subjects = Counter(conn.execute(select(Item.subject).where(Item.status != "quarantined")).scalars().all())
        figures.ingested = conn.execute(select(func.count()).select_from(Item)).scalar_one()
        figures.quarantined = conn.execute(
            select(func.count()).select_from(Item).where(Item.status == "quarantined")
        ).scalar_one()
        wanted = {f"Soak draft {n}" for n in range(messages)}
        figures.duplicated = sum(n - 1 for n in subjects.values() if n > 1)
        figures.lost = len(wanted - set(subjects))
        assert conn.execute(select(func.count()).select_from(Message)).scalar_one() >= messages
    engine.dispose()
    figures.processed_folder = len(mailbox.uids("Processed"))
    figures.inbox_left = len(mailbox.uids("INBOX"))
    return figures


def _unsent(db: str) -> int:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
            ).scalar_one()
    finally:
        engine.dispose()
