"""The monthly committee report end to end: a month of mixed traffic through the real pipeline (each
message on its own day, by moving the clock), the report that reaches the Clerk over SMTP with its
figures, inline chart and CSV, sent once across `--send`s, restarts and two instances, and the job
on the first working day of the month."""

from __future__ import annotations

import csv
import dataclasses
import io
import threading
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from zoneinfo import ZoneInfo

import pytest
import time_machine
from PIL import Image
from samples import auto_reply, draft, golden
from sqlalchemy import func, select, update
from support import TEMPLATES, migrated, settings_data, settings_for, to_toml, wait_until
from support import answer as reply

from intake import cli
from intake.accounts import RegisteredAccount
from intake.monthly import ACTIONED
from intake.monthly_facts import month_bounds
from intake.scheduler import REPORT_JOB, make_scheduler
from intake.service import Service
from intake.store import monthly as store
from intake.store.models import CommitteeReport, Item, OutboxMessage

CLERK, DEPUTY, SAM = "clerk@example.org", "deputy@example.org", "sam@example.org"
NOVEMBER = date(2026, 11, 1)
PURPOSE = "report"  # X-SMAT-Purpose, as interface.md names it


def build(settings) -> Service:
    """A service whose account register has the council's X account beside the test config's Facebook page."""
    x = RegisteredAccount("x", "testham", "https://x.com/testham", "Sam Smat")
    settings = dataclasses.replace(settings, accounts=(*settings.accounts, x))
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


def recorded(service: Service) -> int:
    with service.sessions() as session:
        return session.scalar(select(func.count()).select_from(CommitteeReport)) or 0


def request(service: Service, member: str, ref: str) -> EmailMessage:
    (found,) = [m for to, m in outbox(service, "review-request") if member in to and f"[{ref}]" in m["Subject"]]
    return found


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content().replace("\r\n", "\n")


def a_month_of_traffic(service: Service) -> dict[str, str]:
    """October's last draft, November's mixed traffic, and December's first draft, each at its own time."""
    refs: dict[str, str] = {}

    def new(name: str, raw: bytes) -> None:
        refs[name] = service.ingest(raw, "file").ref or ""

    with time_machine.travel(
        datetime(2026, 10, 30, 10, 0, tzinfo=UTC), tick=False
    ) as clock:  # frozen: each line at the exact time given

        def on(day: int, hour: int, month: int = 11) -> None:
            clock.move_to(datetime(2026, month, day, hour, 0, tzinfo=UTC))

        new("october", draft(sender="olive@example.com", name="Olive", subject="Half-term crafts"))
        on(2, 9)  # Monday 2 November
        new("litter", draft(subject="Litter pick on Saturday"))
        on(2, 10)
        reply(service, SAM, "APPROVE", request(service, SAM, refs["october"]))  # after 72 hours
        on(2, 11)
        reply(service, SAM, "APPROVE", request(service, SAM, refs["litter"]))  # after 2 hours
        on(3, 9)
        reply(
            service, SAM, "POSTED Facebook https://facebook.com/testham/posts/1", request(service, SAM, refs["litter"])
        )
        on(4, 10)
        new(
            "vote", draft(sender="bob@example.com", name="Bob", subject="Hustings", body="Vote for Labour on Thursday!")
        )
        on(6, 10)
        reply(service, CLERK, "REJECT party political content", request(service, CLERK, refs["vote"]))  # 48 hours
        on(10, 9)
        new("fete", draft(sender="carol@example.com", name="Carol", subject="Summer fete"))
        on(10, 15)
        reply(service, SAM, "APPROVE", request(service, SAM, refs["fete"]))  # after 6 hours
        reply(service, SAM, "POSTED X https://x.com/testham/status/2", request(service, SAM, refs["fete"]))
        on(12, 9)  # Thursday: due five working days later, Thursday 19th
        new("bench", draft(sender="dan@example.com", name="Dan", subject="Report: broken bench on the Common"))
        on(16, 9)
        new("bins", draft(sender="eve@example.com", name="Eve", subject="Question: when are the bins collected?"))
        on(20, 9)
        new("phone", draft(sender="fay@example.com", name="Fay", subject="Lost dog", body="Ring me on 07700 900123."))
        on(25, 9)
        assert service.ingest(auto_reply(), "file").classification == "automatic"
        on(27, 9)
        new("broken", golden("no_from.eml"))
        on(1, 9, month=12)
        new("december", draft(sender="gus@example.com", name="Gus", subject="Carols"))  # next month's
    return refs


def test_a_month_of_mixed_traffic_reaches_the_clerk_as_one_report_with_its_chart_and_csv(
    tmp_path, database_url, smtp_sink, services
):
    service = build(settings_for(tmp_path, database_url, smtp=smtp_sink))
    services.append(service)
    refs = a_month_of_traffic(service)
    service.deliver()
    smtp_sink.captured.clear()

    assert service.scheduled_report(now=datetime(2026, 11, 30, 9, 0, tzinfo=UTC)) is None  # not due in November
    first_day = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # Tuesday 1 December, the first working day
    result = service.scheduled_report(now=first_day)
    assert result is not None and result.sent and (result.month, result.recipients) == (NOVEMBER, (CLERK,))
    service.deliver()
    (captured,) = smtp_sink.wait_for(1)
    assert captured.rcpt_tos == [CLERK]  # the Clerk only; the Deputy when [committee_report] to_deputy is set
    mail = captured.message
    assert (mail["X-SMAT-Purpose"], mail["Auto-Submitted"], mail["X-SMAT-Ref"]) == (PURPOSE, "auto-generated", None)
    assert mail["Subject"] == "[SMAT report] November 2026: 7 received, 2 posts, 1 report overdue"

    text = text_of(mail)
    assert "for the Finance and General Purposes Committee" in text
    assert "In November 2026 SMAT received 7 items (5 drafts, 1 report, 1 enquiry); 2 posts were published" in text
    assert "- Drafts: 5 — 2 posted, 1 rejected, 1 not yet decided, 1 quarantined" in text
    assert "- Reports: 1 — 1 not yet decided" in text and "- Enquiries: 1 — 1 not yet decided" in text
    # 2, 6, 48 and 72 hours: the median is 27 hours; 9 in 10 (nearest rank: the 4th of 4) within 72
    assert "- Drafts: 4 decisions; median 1 day 3 hours, 9 in 10 within 3 days (90th percentile)" in text
    assert "- Reports: none decided this month" in text
    posts = text.split("Posts published (2)\n")[1].split("\n\n")[0].splitlines()
    assert posts == [
        f"- Tue 03 Nov: {refs['litter']} “Litter pick on Saturday” on facebook testham "
        "https://facebook.com/testham/posts/1, recorded by Sam Smat (SMAT member)",
        f"- Tue 10 Nov: {refs['fete']} “Summer fete” on x testham https://x.com/testham/status/2, "
        "recorded by Sam Smat (SMAT member)",
    ]
    assert "- facebook testham: 1 post\n- x testham: 1 post\n" in text  # named as the register names them
    assert "- political (policy 6.5, 8): 1\n" in text and "- personal_data (policy 6.6): 1\n" in text
    assert f"- {refs['bench']} “Report: broken bench on the Common”: received Thu 12 Nov, due Thu 19 Nov" in text
    assert refs["december"] not in text and "Carols" not in text

    html = mail.get_body(("html",))
    assert html.get_content_type() == "text/html"
    related = [p for p in mail.walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1  # the chart sits beside the HTML, shown inline
    (chart,) = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    cid = chart["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html.get_content()
    assert 'alt="Bar chart of items received each day in November 2026, by kind: 7 in all (5 drafts, 1 report, ' in (
        html.get_content()
    )
    picture = Image.open(io.BytesIO(chart.get_content()))
    picture.verify()
    assert picture.format == "PNG"

    (attachment,) = list(mail.iter_attachments())
    assert (attachment.get_filename(), attachment.get_content_type()) == ("smat-report-2026-11.csv", "text/csv")
    rows = list(csv.DictReader(io.StringIO(attachment.get_payload(decode=True).decode("utf-8-sig"))))
    figure = {(r["section"], r["kind"], r["measure"]): r["value"] for r in rows}
    assert figure[("received", "draft", "items")] == "5"
    assert figure[("outcome at end of month", "draft", "posted")] == "2"
    assert figure[("time to decision", "draft", "median hours")] == "27.0"
    assert figure[("time to decision", "draft", "90th percentile hours")] == "72.0"
    assert [(r["date"], r["account"]) for r in rows if r["section"] == "post published"] == [
        ("2026-11-03", "facebook testham"),
        ("2026-11-10", "x testham"),
    ]
    assert [r["ref"] for r in rows if r["section"] == "report overdue"] == [refs["bench"]]
    per_day = {(r["date"], r["kind"]): int(r["value"]) for r in rows if r["section"] == "received per day"}
    assert sum(per_day.values()) == 7 and per_day[("2026-11-02", "draft")] == 1

    # Sent once: the job again on the next weekday, a restart, and `--send` all find the month taken.
    assert not service.scheduled_report(now=first_day + timedelta(days=1)).sent
    again = build(settings_for(tmp_path, database_url, smtp=smtp_sink))
    services.append(again)
    rerun = again.send_report(NOVEMBER, now=first_day + timedelta(hours=2))
    assert (rerun.sent, rerun.recipients) == (False, (CLERK,))
    assert recorded(service) == 1 and len(outbox(service, PURPOSE)) == 1


def test_reports_actioned_in_the_month_are_read_with_when_and_by_whom(tmp_path, sqlite_url, services):
    """Until the ACTIONED verb is merged, a report is marked actioned as its rule will (status, decided_at, by)."""
    service = build(settings_for(tmp_path, sqlite_url))
    services.append(service)
    with time_machine.travel(datetime(2026, 11, 2, 9, 0, tzinfo=UTC), tick=True):
        bench = service.ingest(draft(subject="Report: broken bench"), "file").ref
        gate = service.ingest(draft(sender="bob@example.com", subject="Report: gate off its hinges"), "file").ref
    with service.sessions.begin() as session:
        done = {"status": ACTIONED, "decided_at": datetime(2026, 11, 12, 9, 0, tzinfo=UTC), "decided_by": SAM}
        session.execute(update(Item).where(Item.ref == bench).values(**done))
    start, end = month_bounds(NOVEMBER, ZoneInfo("Europe/London"))
    with service.sessions() as session:
        reports = store.gather(session, NOVEMBER, start, end).reports
        december = store.gather(session, date(2026, 12, 1), end, end + timedelta(days=31)).reports
    assert [(r.ref, r.actioned_at, r.actioned_by) for r in reports] == [
        (bench, datetime(2026, 11, 12, 9, 0, tzinfo=UTC), SAM),
        (gate, None, ""),
    ]
    assert [r.ref for r in december] == [gate]  # actioned in November: no longer open in December
    report = service.send_report(NOVEMBER, now=datetime(2026, 12, 1, 8, 0, tzinfo=UTC)).report
    assert report is not None
    assert [(r.ref, r.working_days, r.late) for r in report.actioned] == [(bench, 8, True)]
    assert [r.ref for r in report.overdue] == [gate]


def test_two_instances_on_one_postgresql_database_sending_at_once_make_one_report(tmp_path, pg, services):
    url = migrated(pg.create_database())
    try:
        first, second = build(settings_for(tmp_path, url)), build(settings_for(tmp_path, url))
        services += [first, second]
        now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
        start = threading.Barrier(2)
        results = []

        def send(service: Service) -> None:
            start.wait()
            results.append(service.send_report(NOVEMBER, now=now))

        threads = [threading.Thread(target=send, args=(s,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(r.sent for r in results) == [False, True]
        assert recorded(first) == 1 and len(outbox(first, PURPOSE)) == 1
    finally:
        for service in services:
            service.close()
        services.clear()
        pg.drop_later(url)


def test_report_print_changes_nothing_and_send_goes_once_and_refuses_a_month_not_over(tmp_path, sqlite_url, capsys):
    url = migrated(sqlite_url)
    config = tmp_path / "config.toml"
    config.write_text(
        to_toml(settings_data(tmp_path, url, committee_report={"to_deputy": True, "committee": "Policy Committee"})),
        encoding="utf-8",
    )
    assert cli.main(["--config", str(config), "report", "--month", "2026-10", "--print"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("[SMAT report] October 2026: 0 received, 0 posts\n")
    assert "A quiet month" in printed and "Time to decision" in printed
    assert list((tmp_path / "outbox").glob("*.eml")) == []
    assert cli.main(["--config", str(config), "report", "--month", "2026-10", "--send"]) == 0
    assert "queued for clerk@example.org, deputy@example.org; sent 2" in capsys.readouterr().out
    assert cli.main(["--config", str(config), "report", "--month", "2026-10", "--send"]) == 0
    assert "was already sent (to clerk@example.org, deputy@example.org)" in capsys.readouterr().out
    sent = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(sent) == 2
    assert "for the Policy Committee" in message_from_bytes(sent[0].read_bytes(), policy=default).get_body(
        ("plain",)
    ).get_content().replace("\r\n", "\n").replace("\n", " ")
    this_month = f"{datetime.now(ZoneInfo('Europe/London')):%Y-%m}"
    assert cli.main(["--config", str(config), "report", "--month", this_month, "--send"]) == 1
    assert "is not over yet" in capsys.readouterr().err
    assert cli.main(["--config", str(config), "report", "--month", "2026-13", "--print"]) == 1
    assert "--month '2026-13' is not a month such as 2026-11." in capsys.readouterr().err


@pytest.mark.parametrize(
    ("now", "month"),
    [
        (datetime(2026, 12, 1, 7, 0, tzinfo=UTC), NOVEMBER),  # Tuesday 1 December
        (datetime(2027, 1, 1, 9, 0, tzinfo=UTC), None),  # New Year's Day: not yet
        (datetime(2027, 1, 4, 9, 0, tzinfo=UTC), date(2026, 12, 1)),  # Monday 4 January, the first working day
        (datetime(2026, 11, 30, 23, 30, tzinfo=UTC), None),  # still 30 November in London
    ],
)
def test_the_report_falls_due_on_the_first_working_day(tmp_path, sqlite_url, now, month):
    from intake.monthly_mail import due_month

    assert due_month(settings_for(tmp_path, sqlite_url), now) == month


def test_the_report_job_fires_on_weekdays_in_the_first_week_at_the_digest_time(tmp_path, sqlite_url):
    settings = settings_for(tmp_path, sqlite_url, digest={"time": "07:45"}, council={"timezone": "Europe/London"})
    job = make_scheduler(settings, lambda: None, None, lambda: None).get_job(REPORT_JOB)
    london = ZoneInfo("Europe/London")
    fire = job.trigger.get_next_fire_time(None, datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    assert fire == datetime(2026, 12, 1, 7, 45, tzinfo=london)
    fire = job.trigger.get_next_fire_time(None, datetime(2027, 1, 1, 9, 0, tzinfo=UTC))  # Friday, a holiday
    assert fire == datetime(2027, 1, 4, 7, 45, tzinfo=london)  # the job then finds the 4th the first working day
    assert make_scheduler(settings, lambda: None).get_job(REPORT_JOB) is None


def test_the_report_job_fires_and_queues_the_report_once(tmp_path, sqlite_url, services):
    service = build(settings_for(tmp_path, sqlite_url))
    services.append(service)
    clock = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # the job's clock, injected
    ran = []

    def job() -> None:
        ran.append(service.scheduled_report(now=clock))

    scheduler = make_scheduler(service.settings, lambda: None, None, job)
    scheduler.start(paused=True)
    try:
        for runs in (1, 2):  # fired twice: the second finds the month taken
            scheduler.modify_job(REPORT_JOB, next_run_time=datetime.now(UTC))
            scheduler.resume()
            wait_until(lambda runs=runs: len(ran) >= runs, what="the report job to run")
            scheduler.pause()
    finally:
        scheduler.shutdown(wait=False)
    assert [(r.month, r.sent) for r in ran] == [(NOVEMBER, True), (NOVEMBER, False)]
    assert recorded(service) == 1 and len(outbox(service, PURPOSE)) == 1
