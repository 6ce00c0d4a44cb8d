"""`smat-intake status` says what the running service did: its last pass and delivery, the outbox, quarantine.

Against a real Dovecot and SMTP server, through the real command line (`intake.cli.main`), and
non-zero exactly when something needs attention, so monitoring can call it.
"""

from __future__ import annotations

from datetime import timedelta

from samples import draft
from sqlalchemy import update
from support import TEMPLATES, migrated, settings_data, to_toml, wait_until
from test_run import running_service  # noqa: F401, F811 - the fixture

from intake.cli import main
from intake.config import load
from intake.service import Service
from intake.store.health import DELIVERY, POLL, read_health, record_mark
from intake.store.models import OutboxMessage, utcnow
from intake.store.unit import transaction


def write(tmp_path, **servers) -> object:
    url = migrated(f"sqlite:///{tmp_path}/smat.db")
    path = tmp_path / "config.toml"
    path.write_text(to_toml(settings_data(tmp_path, url, **servers)), encoding="utf-8")
    return path


def status(path, capsys) -> tuple[int, list[str]]:
    code = main(["--config", str(path), "status"])
    out = capsys.readouterr()
    return code, (out.out + out.err).splitlines()


def line(lines: list[str], name: str) -> str:
    found = [text for text in lines if text.split("  ", 1)[-1].startswith(name)]
    assert len(found) == 1, lines
    return found[0]


def test_after_a_pass_status_shows_the_last_pass_and_delivery_and_exits_zero(tmp_path, mailbox, smtp_sink, capsys):
    path = write(tmp_path, imap=mailbox, smtp=smtp_sink)
    code, lines = status(path, capsys)
    assert code == 0, lines
    assert line(lines, "last mailbox pass").startswith("ok  last mailbox pass: none recorded yet")

    assert main(["--config", str(path), "poll", "--once"]) == 0  # the first look leaves older mail alone
    mailbox.append(draft(subject="A first draft"))
    assert main(["--config", str(path), "poll", "--once"]) == 0
    smtp_sink.wait_for(4)
    code, lines = status(path, capsys)

    assert code == 0, lines
    assert line(lines, "last mailbox pass").startswith("ok  last mailbox pass: ")
    assert " s ago)" in line(lines, "last mailbox pass")
    assert line(lines, "outbox").startswith("ok  outbox: nothing waiting; last delivery ")
    assert line(lines, "quarantine").startswith("ok  quarantine: none in the last 24 hours")


def test_mail_waiting_over_an_hour_and_a_quarantined_message_need_attention(tmp_path, capsys):
    path = write(tmp_path)
    service = Service.build(load(path), template_cache=TEMPLATES)
    try:
        service.ingest(draft(subject="Waiting"), "file")  # queued, not delivered
        code, lines = status(path, capsys)
        assert code == 0 and "4 waiting, the oldest for " in line(lines, "outbox")
        with transaction(service.sessions) as session:
            session.execute(update(OutboxMessage).values(created_at=utcnow() - timedelta(hours=2)))
        outcome = service.ingest(b"Subject: no sender\r\n\r\nWho am I?\r\n", "file")
        assert outcome.classification == "quarantined"
    finally:
        service.close()

    code, lines = status(path, capsys)

    assert code == 1
    assert line(lines, "outbox").startswith("PROBLEM  outbox: 4 waiting, the oldest for 2 h (check the relay")
    assert line(lines, "quarantine") == (
        f"PROBLEM  quarantine: 1 message(s) quarantined in the last 24 hours ({outcome.ref}); "
        "`smat-intake show REF` says why"
    )


def test_a_service_that_stopped_reading_the_mailbox_needs_attention(tmp_path, mailbox, capsys):
    path = write(tmp_path, imap=mailbox)
    service = Service.build(load(path), template_cache=TEMPLATES)
    try:
        with transaction(service.sessions) as session:
            record_mark(session, POLL, "took in 0", at=utcnow() - timedelta(minutes=45))
    finally:
        service.close()

    code, lines = status(path, capsys)

    assert code == 1
    assert line(lines, "mailbox").startswith("ok  mailbox ")  # it can log in: the service is what stopped
    assert "(45 min ago); none for over 30 min: is `smat-intake run` running" in line(lines, "last mailbox pass")


def test_the_running_service_records_its_passes_and_deliveries(running_service, mailbox, smtp_sink):  # noqa: F811
    handle = running_service()
    handle.ready()
    mailbox.append(draft(subject="While running"))
    smtp_sink.wait_for(4)

    def marked() -> bool:
        with handle.service.sessions() as session:
            return {POLL, DELIVERY} <= set(read_health(session, timedelta(hours=24)).marks)

    wait_until(marked, what="the service to record a pass and a delivery", timeout=20)
