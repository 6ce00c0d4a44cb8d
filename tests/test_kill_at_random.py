"""Proof under fault: the process killed at random while taking in a backlog loses none and makes none twice."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from email import message_from_bytes
from email.policy import default

from builders import draft
from helpers import write_config
from sqlalchemy import create_engine, func, select, text

from intake.store.models import Item, Message, OutboxMessage

MESSAGES = 120


def test_sigkill_at_random_moments_loses_no_message_and_makes_no_item_twice(mailbox, tmp_path):
    db = f"sqlite:///{tmp_path}/smat.db"
    imap = {
        "host": mailbox.host,
        "port": mailbox.port,
        "security": "none",
        "username": mailbox.user,
        "password": mailbox.password,
    }
    config = write_config(tmp_path, db, imap=imap, outbox={"folder": str(tmp_path / "outbox")})

    def smat(*args: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "intake", "--config", str(config), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            **kwargs,
        )

    assert smat("init").wait(timeout=60) == 0
    assert smat("poll", "--once").wait(timeout=60) == 0  # first look: an empty mailbox
    for n in range(MESSAGES):
        mailbox.append(draft(sender=f"resident{n}@example.com", subject=f"Draft number {n}"))

    rng = random.Random(42)
    kills = 0
    for attempt in range(60):
        proc = smat("poll", "--once")
        deadline = time.monotonic() + rng.uniform(0.3, 1.5)
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            kills += 1
            print(f"attempt {attempt}: killed with {len(mailbox.uids('INBOX'))} messages still in the inbox")
            continue
        assert proc.returncode == 0, proc.stderr.read().decode()
        if not mailbox.uids("INBOX"):
            break
    assert kills >= 3, "the process was never killed mid-run; the test proves nothing"
    assert mailbox.uids("INBOX") == []

    engine = create_engine(db)
    with engine.connect() as conn:
        subjects = conn.execute(select(Item.subject)).scalars().all()
        assert sorted(subjects) == sorted(f"Draft number {n}" for n in range(MESSAGES))  # each exactly once
        assert conn.execute(select(func.count()).select_from(Message)).scalar() == MESSAGES
        per_item = conn.execute(select(OutboxMessage.purpose, func.count()).group_by(OutboxMessage.purpose)).all()
        assert dict(per_item) == {"acknowledgement": MESSAGES, "review-request": 3 * MESSAGES}
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        status = dict(conn.execute(select(OutboxMessage.message_id, OutboxMessage.status)).all())
    engine.dispose()

    # Killed during delivery too: nothing marked sent is missing, and nothing went out twice.
    delivered = [
        message_from_bytes(path.read_bytes(), policy=default)["Message-ID"].strip("<>")
        for path in (tmp_path / "outbox").glob("*.eml")
    ]
    assert len(delivered) > MESSAGES  # the delivery runs were really reached
    assert len(delivered) == len(set(delivered))
    sent = {mid for mid, state in status.items() if state == "sent"}
    assert sent <= set(delivered)
    # A message whose send was cut off stays claimed ("sending") and goes again after the claim
    # expires: delayed, never lost.
    assert set(delivered) - sent <= {mid for mid, state in status.items() if state == "sending"}
    assert len(mailbox.uids("Processed")) == MESSAGES
