"""The Clerk's digest end to end: a day's mixed traffic through the pipeline, the digest that
reaches the Clerk, one digest a day across `--send`s, restarts and two instances, the job."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from zoneinfo import ZoneInfo

import pytest
from samples import auto_reply, draft, golden
from sqlalchemy import func, select
from support import TEMPLATES, migrated, settings_data, settings_for, to_toml, wait_until
from support import answer as reply

from intake import cli
from intake.digest_mail import preview_digest
from intake.scheduler import DIGEST_JOB, make_scheduler
from intake.service import Service
from intake.store.models import Digest, OutboxMessage

CLERK, DEPUTY, SAM = "clerk@example.org", "deputy@example.org", "sam@example.org"


def build(settings) -> Service:
    migrated(settings.database_url)
    return Service.build(settings, template_cache=TEMPLATES)


@pytest.fixture
def services():
    made: list[Service] = []
    yield made
    for service in made:
        service.close()


def outbox(service: Service, purpose: str) -> list[tuple[list[str], EmailMessage]]:
    with service.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == purpose).order_by(OutboxMessage.id))
        return [(r.recipients, message_from_bytes(r.raw, policy=default)) for r in rows]


def digests(service: Service) -> int:
    with service.sessions() as session:
        return session.scalar(select(func.count()).select_from(Digest)) or 0


def request(service: Service, member: str, ref: str) -> EmailMessage:
    (found,) = [m for to, m in outbox(service, "review-request") if member in to and f"[{ref}]" in m["Subject"]]
    return found


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html_of(msg: EmailMessage) -> str:
    return msg.get_body(("html",)).get_content()


def test_the_digest_reaching_the_clerk_lists_every_pending_item_with_its_age_every_decision_and_adds_up(
    tmp_path, sqlite_url, smtp_sink, services
):
    settings = settings_for(
        tmp_path, sqlite_url, smtp=smtp_sink, digest={"overdue_hours": 2}, intake={"acknowledgements_per_hour": 1}
    )
    service = build(settings)
    services.append(service)
    ingest = service.ingest
    litter = ingest(draft(subject="Litter pick on Saturday"), "file").ref
    lights = ingest(draft(subject="Christmas lights"), "file").ref  # Jane's second within the hour: ack held
    vote = ingest(draft(sender="bob@example.com", name="Bob", subject="Vote for me"), "file").ref
    fete = ingest(draft(sender="carol@example.com", name="Carol", subject="Summer fete"), "file").ref
    bench = ingest(draft(sender="dan@example.com", name="Dan", subject="Report: broken bench"), "file").ref
    again = ingest(
        draft(sender="carol@example.com", name="Carol", subject="Summer fete", body="Updated wording"), "file"
    )
    assert again.ref == fete and "repeat" in again.reason
    assert ingest(auto_reply(), "file").classification == "automatic"
    assert ingest(golden("no_from.eml"), "file").classification == "quarantined"
    assert reply(service, SAM, "APPROVE", request(service, SAM, litter)).ref == litter
    reply(service, CLERK, "REJECT party political content", request(service, CLERK, vote))
    reply(service, "mallory@example.net", "APPROVE", request(service, SAM, fete))  # a forwarded request: refused
    service.deliver()
    smtp_sink.captured.clear()

    now = datetime.now(UTC) + timedelta(hours=3)  # the pending items have waited three hours: overdue at two
    assert service.send_digest(now=now).sent
    service.deliver()
    (captured,) = smtp_sink.wait_for(1)
    assert captured.rcpt_tos == [CLERK]  # the Clerk only; the Deputy when [digest] to_deputy is set
    mail = captured.message
    assert mail["X-SMAT-Purpose"] == "digest" and mail["Auto-Submitted"] == "auto-generated"
    assert mail["Subject"].startswith("[SMAT digest] ") and "[SMAT-" not in mail["Subject"]
    assert mail["X-SMAT-Ref"] is None
    assert "3 awaiting a decision, 2 overdue" in mail["Subject"]
    text = text_of(mail)
    line = "Received 11 = 5 new items + 3 replies + 1 automatic mail ignored + 1 quarantined + 1 repeats folded."
    assert line in text and line in html_of(mail)
    pending = text.split("Awaiting a decision, oldest first (3)\n")[1].split("\n\n")[0].splitlines()
    assert pending == [
        f"- {lights} “Christmas lights” (draft, in review) waiting 3 hours",
        f"- {fete} “Summer fete” (draft, in review) waiting 3 hours",
        f"- {bench} “Report: broken bench” (report, open) waiting 3 hours",
    ]
    assert f"{litter} “Litter pick on Saturday”: APPROVE by Sam Smat (SMAT member)" in text
    assert f"{vote} “Vote for me”: REJECT by Town Clerk" in text and "rejected: party political content" in text
    assert f"mallory@example.net sent APPROVE on {fete} “Summer fete”" in text
    assert "Received since the last digest (5)" in text
    assert "Acknowledgements held back (1)" in text and f"- {lights} from jane@example.com" in text
    assert "Quarantined (1)" in text and "it has no sender address we could answer" in text
    assert "<li" in html_of(mail) and "&lt;" not in mail["Subject"]


def test_a_quiet_day_still_brings_a_digest_saying_so(tmp_path, sqlite_url, services):
    service = build(settings_for(tmp_path, sqlite_url))
    services.append(service)
    assert service.send_digest().sent
    service.deliver()
    (eml,) = (tmp_path / "outbox").glob("*.eml")  # no relay configured: mail goes to the outbox folder
    mail = message_from_bytes(eml.read_bytes(), policy=default)
    assert "quiet day" in mail["Subject"]
    text = text_of(mail)
    assert "A quiet day: no mail arrived and nothing was decided" in text and "The service is running." in text
    assert "Received 0 = 0 new items + 0 replies" in text


def test_the_next_digest_covers_only_what_came_after_the_last_one(tmp_path, sqlite_url, services):
    service = build(settings_for(tmp_path, sqlite_url))
    services.append(service)
    service.ingest(draft(), "file")
    assert service.send_digest().sent
    service.ingest(draft(sender="bob@example.com", subject="Another"), "file")
    tomorrow = service.send_digest(now=datetime.now(UTC) + timedelta(days=1))
    assert tomorrow.sent and tomorrow.digest is not None
    assert tomorrow.digest.reconciliation.startswith("Received 1 = 1 new items")


def test_the_deputy_gets_it_too_when_configured(tmp_path, sqlite_url, services):
    service = build(settings_for(tmp_path, sqlite_url, digest={"to_deputy": True}))
    services.append(service)
    assert service.send_digest().recipients == (CLERK, DEPUTY)
    assert sorted(to for to, _ in outbox(service, "digest")) == [[CLERK], [DEPUTY]]


def test_digest_send_twice_the_same_day_sends_one_and_says_so_and_print_changes_nothing(tmp_path, sqlite_url, capsys):
    url = migrated(sqlite_url)
    config = tmp_path / "config.toml"
    config.write_text(to_toml(settings_data(tmp_path, url)), encoding="utf-8")
    assert cli.main(["--config", str(config), "digest", "--print"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("[SMAT digest] ") and "Received 0 = " in printed and "Awaiting a decision" in printed
    assert list((tmp_path / "outbox").glob("*.eml")) == []
    assert cli.main(["--config", str(config), "digest", "--send"]) == 0
    assert "queued for clerk@example.org; sent 1" in capsys.readouterr().out
    assert cli.main(["--config", str(config), "digest", "--send"]) == 0  # a restart, or a second --send
    assert "was already sent (to clerk@example.org)" in capsys.readouterr().out
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_two_instances_on_one_postgresql_database_sending_at_once_make_one_digest(tmp_path, pg, services):
    url = migrated(pg.create_database())
    try:
        first, second = build(settings_for(tmp_path, url)), build(settings_for(tmp_path, url))
        services += [first, second]
        first.ingest(draft(), "file")
        now = datetime.now(UTC)
        start = threading.Barrier(2)
        results = []

        def send(service: Service) -> None:
            start.wait()
            results.append(service.send_digest(now=now))

        threads = [threading.Thread(target=send, args=(s,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(r.sent for r in results) == [False, True]
        assert digests(first) == 1 and len(outbox(first, "digest")) == 1
    finally:
        for service in services:
            service.close()
        services.clear()
        pg.drop_later(url)


def test_the_digest_job_runs_daily_at_the_configured_time_in_the_council_time_zone(tmp_path, sqlite_url):
    settings = settings_for(tmp_path, sqlite_url, digest={"time": "07:45"}, council={"timezone": "Europe/London"})
    scheduler = make_scheduler(settings, lambda: None, lambda: None)
    job = scheduler.get_job(DIGEST_JOB)
    london = ZoneInfo("Europe/London")
    summer = datetime(2027, 7, 1, 7, 0, tzinfo=UTC)  # 08:00 in London: today's has gone
    assert job.trigger.get_next_fire_time(None, summer) == datetime(2027, 7, 2, 7, 45, tzinfo=london)
    winter = datetime(2027, 12, 1, 7, 0, tzinfo=UTC)  # 07:00 in London
    assert job.trigger.get_next_fire_time(None, winter) == datetime(2027, 12, 1, 7, 45, tzinfo=london)
    assert [j.id for j in make_scheduler(settings, lambda: None).get_jobs()] == ["outbox-sweep"]


def test_the_digest_job_fires_and_queues_the_digest_once(tmp_path, sqlite_url, services):
    service = build(settings_for(tmp_path, sqlite_url))
    services.append(service)
    clock = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # the job's clock, injected: the digest is for 1 December
    ran = []

    def job() -> None:
        ran.append(service.send_digest(now=clock))

    scheduler = make_scheduler(service.settings, lambda: None, job)
    scheduler.start(paused=True)
    try:
        for runs in (1, 2):  # fired twice the same day: the second finds the day taken
            scheduler.modify_job(DIGEST_JOB, next_run_time=datetime.now(UTC))
            scheduler.resume()
            wait_until(lambda runs=runs: len(ran) >= runs, what="the digest job to run")
            scheduler.pause()
    finally:
        scheduler.shutdown(wait=False)
    assert [(r.day.isoformat(), r.sent) for r in ran] == [("2026-12-01", True), ("2026-12-01", False)]
    assert digests(service) == 1 and len(outbox(service, "digest")) == 1


def test_digest_print_shows_todays_digest_without_recording_it(tmp_path, sqlite_url, services):
    service = build(settings_for(tmp_path, sqlite_url, digest={"policy_review": "2027-05-01"}))
    services.append(service)
    service.ingest(draft(), "file")
    digest = preview_digest(service.settings, service.sessions, now=datetime(2027, 4, 10, 9, 0, tzinfo=UTC))
    assert "due for its yearly review on 01 May 2027 (in 21 days)" in digest.as_text()
    assert digests(service) == 0 and outbox(service, "digest") == []
