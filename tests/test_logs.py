"""Logs: one event per line as key=value (or JSON with --log-json), and never a secret from the config."""

from __future__ import annotations

import io
import json
import logging
import os
import re

import pytest
from samples import draft
from support import Command, imap_section, migrated, write_config

from intake.config import load
from intake.logs import JsonFormatter, KeyValueFormatter, Redactor, configure, secrets_of

IMAP_PASSWORD = "imap-Pa55word-xyzzy"
SMTP_PASSWORD = "smtp-Pa55word-plugh"
REPLY_SECRET = "reply-key-secret-0123456789abcdef"
KEY_VALUE = re.compile(r'^at=\S+Z level=(debug|info|warning|error|critical) logger=\S+ msg=("([^"\\]|\\.)*"|\S+)( |$)')


def secret_config(tmp_path, mailbox, smtp_port: int):
    """A config holding a password for the mailbox and the relay, and the reply-key secret, inline."""
    url = f"sqlite:///{tmp_path}/smat.db"
    imap = {**imap_section(mailbox), "password": IMAP_PASSWORD, "timeout": 5}
    smtp = {"host": "127.0.0.1", "port": smtp_port, "security": "none", "username": "smat", "password": SMTP_PASSWORD}
    path = write_config(tmp_path, url, imap=imap, smtp=smtp, security={"secret": REPLY_SECRET})
    migrated(url)
    return path


def run(path, *args: str) -> Command:
    """The command line, to its end, in a process of its own (forked: see support.Command)."""
    env = {k: v for k, v in os.environ.items() if k != "SMAT_INTAKE_CONFIG"}
    return Command(["--config", str(path), *args], path.parent, env)


def test_the_command_line_logs_one_key_value_or_json_line_per_event_and_no_secret(tmp_path, mailbox):
    mailbox.add_user("smat.info@town.example", "a-different-password")  # our login is refused: errors get logged
    path = secret_config(tmp_path, mailbox, smtp_port=1)
    (tmp_path / "draft.eml").write_bytes(draft(subject="Logged"))

    plain = [run(path, "-v", "ingest", "draft.eml"), run(path, "-v", "poll", "--once")]  # ingest delivers too
    as_json = run(path, "-v", "--log-json", "deliver")

    everything = "\n".join(r.stdout + r.stderr for r in [*plain, as_json])
    for secret in (IMAP_PASSWORD, SMTP_PASSWORD, REPLY_SECRET):
        assert secret not in everything
    logged = [line for r in plain for line in r.stderr.splitlines() if line.startswith("at=")]
    assert any("logger=intake.pipeline" in line for line in logged), everything  # the run really logged
    assert any("level=error" in line and "mail delayed, not lost" in line for line in logged)
    assert all(KEY_VALUE.match(line) for line in logged), logged
    records = [json.loads(line) for line in as_json.stderr.splitlines() if line.startswith("{")]
    assert records and all({"at", "level", "logger", "msg"} <= set(record) for record in records)
    assert any("mail delayed" in record["msg"] for record in records)


def test_the_redactor_removes_every_configured_secret_and_anything_shaped_like_a_credential(tmp_path, mailbox):
    settings = load(secret_config(tmp_path, mailbox, smtp_port=1))
    redactor = Redactor(secrets_of(settings))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(KeyValueFormatter())
    handler.addFilter(redactor)
    log = logging.getLogger("test.redaction")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.DEBUG)
    try:
        log.error("login as %s with %s failed", "smat", IMAP_PASSWORD)
        log.error("relay said: 535 %s is wrong", SMTP_PASSWORD)
        log.warning('token answer: {"access_token": "abc.def-123", "expires_in": 3599}')
        log.warning("sent Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzbWF0In0.c2lnbmF0dXJl")
        log.warning("client> AUTH PLAIN AHNtYXQAaHVudGVyMg==")
        log.warning("connecting to postgresql+psycopg://smat:db-Pa55word@db.example/smat")
        log.info("reply keys signed with %s", REPLY_SECRET, extra={"detail": f"password={SMTP_PASSWORD}"})
        try:
            raise RuntimeError(f"server echoed {IMAP_PASSWORD}\nover two lines")
        except RuntimeError:
            log.exception("a failure with a traceback")
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    for leaked in (IMAP_PASSWORD, SMTP_PASSWORD, REPLY_SECRET, "abc.def-123", "eyJhbGci", "AHNtYXQA", "db-Pa55word"):
        assert leaked not in text, text
    lines = text.splitlines()
    assert len(lines) == 8 and all(KEY_VALUE.match(line) for line in lines), text  # a traceback stays on its line
    assert 'exc="Traceback' in lines[-1] and "[redacted]" in lines[-1]
    assert 'detail="password=[redacted]"' in lines[6]


def test_configure_puts_the_redactor_in_front_of_handlers_already_there(caplog):
    caplog.set_level(logging.INFO)
    configure(False, False, io.StringIO(), secrets=[IMAP_PASSWORD])
    logging.getLogger("intake.test").warning("the password is %s", IMAP_PASSWORD)
    assert "the password is [redacted]" in caplog.text and IMAP_PASSWORD not in caplog.text


@pytest.mark.parametrize("formatter", [KeyValueFormatter(), JsonFormatter()])
def test_a_message_with_newlines_and_quotes_is_still_one_line(formatter):
    record = logging.makeLogRecord({"name": "intake", "levelname": "INFO", "msg": 'a "quoted"\nsecond line = x'})
    line = formatter.format(record)
    assert "\n" not in line
    value = json.loads(line)["msg"] if isinstance(formatter, JsonFormatter) else json.loads(line.split("msg=", 1)[1])
    assert value == 'a "quoted"\nsecond line = x'
