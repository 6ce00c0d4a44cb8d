"""The SMTP listener killed in the middle of a message (issue 12, Faults): the sending server never had
a 250, so it sends the message again to the restarted service, and the message is taken in once."""

from __future__ import annotations

import email
import email.policy
import signal
import smtplib
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select
from support import TOWN_MAILBOX, wait_until
from test_cli import listening_config, start_run, stop, wait_serving

from intake.config import load
from intake.store.db import make_engine
from intake.store.models import Item, Message


def _draft() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Jane Resident <jane@example.com>"
    msg["To"] = TOWN_MAILBOX
    msg["Subject"] = "Draft: the bandstand concert"
    msg["Message-ID"] = "<bandstand-1@example.com>"
    msg.set_content("The brass band plays on the bandstand on Sunday afternoon.\n" * 40)
    return msg


def test_a_listener_killed_mid_data_loses_nothing_and_the_retried_message_is_one_item(tmp_path: Path) -> None:
    config, port = listening_config(tmp_path)
    raw = _draft().as_bytes(policy=email.policy.SMTP)

    proc = start_run(config)
    try:
        wait_serving(proc, port)
        client = smtplib.SMTP("127.0.0.1", port, timeout=10)
        client.ehlo()
        assert client.mail("relay@example.net")[0] == 250
        assert client.rcpt(TOWN_MAILBOX)[0] == 250
        assert client.docmd("DATA")[0] == 354
        client.send(raw[: len(raw) // 2])  # half the message, then the service dies under it
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=15)
        client.close()
    finally:
        stop(proc)

    engine = make_engine(load(config).database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(Message.id)).all() == []  # no 250 was given, and nothing was kept

        proc = start_run(config)  # restarted; the sending server tries again, with the whole message
        try:
            wait_serving(proc, port)
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                assert client.sendmail("relay@example.net", [TOWN_MAILBOX], raw) == {}
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:  # a retry after a lost 250 is harmless too
                assert client.sendmail("relay@example.net", [TOWN_MAILBOX], raw) == {}

            wait_until(lambda: acknowledged_files(tmp_path), timeout=20, what="the acknowledgement")
        finally:
            stop(proc)
        with engine.connect() as conn:
            subjects = conn.execute(select(Item.subject)).scalars().all()
    finally:
        engine.dispose()
    assert subjects == ["Draft: the bandstand concert"]
    assert len(acknowledged_files(tmp_path)) == 1


def acknowledged_files(folder: Path) -> list[Path]:
    """The acknowledgements written to the outbox folder."""
    return [
        p
        for p in (folder / "outbox").glob("*.eml")
        if email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["X-SMAT-Purpose"] == "acknowledgement"
    ]
