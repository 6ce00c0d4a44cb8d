"""Build a month's committee report from the store and queue it for the Clerk, once a month whoever asks.

The month is over before its report is sent, so its facts no longer change: the report, its
chart and its CSV are made first (outside any write transaction: drawing the chart takes a
moment), then one transaction records the month and queues the mail (intake.store.monthly).
A second `--send`, a restart or another instance on the same database finds the month taken
and queues nothing.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime

from intake.config import Person, Settings
from intake.errors import IntakeError, StorageConflict
from intake.mailcontext import person_label
from intake.monthly import MonthlyReport, build_report
from intake.monthly_facts import MonthOptions, month_bounds, previous_month
from intake.monthly_files import chart_alt, chart_png, report_csv
from intake.render import Composer, FileToAttach, InlineImage, Recipient
from intake.store import monthly as store
from intake.store.db import Sessions
from intake.store.roster import roster_settings
from intake.store.unit import reading, transaction
from intake.vocab import Purpose, Role
from intake.workdays import first_working_day

DEFAULT_REPORT_DEADLINE_DAYS = 5  # working days, until [digest] report_deadline_working_days says otherwise
TEMPLATE = "committee-report"  # templates/committee-report/
LAST_DAY_DUE = 7  # the scheduled report goes from the first working day up to the 7th; later, `report --send`


@dataclass(frozen=True)
class ReportRun:
    """What `send_report` did: queued the month's report, or found it already sent."""

    month: date
    sent: bool
    recipients: tuple[str, ...]
    report: MonthlyReport | None = None


def parse_month(text: str) -> date:
    """ "2026-11" -> 1 November 2026; anything else is one sentence saying what is wanted."""
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text)
    if not match or not 1 <= int(match[2]) <= 12:
        raise IntakeError(f"--month {text!r} is not a month such as 2026-11.")
    return date(int(match[1]), int(match[2]), 1)


def month_options(settings: Settings) -> MonthOptions:
    """The council's zone and name, the committee, and the reports' deadline in working days.

    The deadline is the daily digest's ([digest] report_deadline_working_days, which the reports
    work adds); until that key exists it is five working days.
    """
    days = getattr(settings.digest, "report_deadline_working_days", DEFAULT_REPORT_DEADLINE_DAYS)
    return MonthOptions(
        tz=settings.council.tz,
        council=settings.council.name,
        committee=settings.committee_report.committee,
        report_deadline_days=int(days),
    )


def report_recipients(settings: Settings) -> tuple[Person, ...]:
    """Every active Town Clerk, and the Deputy when [committee_report] to_deputy is set."""
    roles = {Role.CLERK, Role.DEPUTY_CLERK} if settings.committee_report.to_deputy else {Role.CLERK}
    return tuple(p for p in settings.people if p.active and p.role in roles)


def preview_report(settings: Settings, sessions: Sessions, month: date) -> MonthlyReport:
    """The month's report as it stands (so far, for the month in progress), changing nothing (`report --print`)."""
    options = month_options(settings)
    start, end = month_bounds(month, options.tz)
    with reading(sessions, "read the monthly report") as session:
        settings = roster_settings(session, settings)  # names as the roster in the database has them
        facts = store.gather(session, month, start.astimezone(UTC), end.astimezone(UTC))
    return build_report(facts, options, lambda email: person_label(settings, email))


def send_report(
    settings: Settings, sessions: Sessions, composer: Composer, month: date, now: datetime | None = None
) -> ReportRun:
    """Queue the month's report to the Clerk, unless it is already recorded (here or by another instance).

    Only a month that is over can be sent: its report is sent once, so it must be the whole month.
    """
    now = now or datetime.now(UTC)
    month = month.replace(day=1)
    tz = settings.council.tz
    end = month_bounds(month, tz)[1]
    if now < end:
        raise IntakeError(
            f"{month:%B %Y} is not over yet; its report can be sent from {end:%d %B %Y} "
            "(`report --print` shows it so far)."
        )
    with reading(sessions, "read the roster") as session:
        people = report_recipients(roster_settings(session, settings))
    if not people:
        raise IntakeError(f"{settings.path}: no active person with role clerk in [[people]] to send the report to.")
    with reading(sessions, "read the monthly report") as session:
        done = store.sent_for(session, month)
    if done is not None:
        return ReportRun(month, False, tuple(done.recipients))
    report = preview_report(settings, sessions, month)
    chart = InlineImage(
        content_id=f"chart.{secrets.token_hex(8)}@{composer.domain}",
        content_type="image/png",
        data=chart_png(report),
        filename=f"smat-report-{month:%Y-%m}.png",
    )
    csv_file = FileToAttach(
        filename=f"smat-report-{month:%Y-%m}.csv",
        content_type="text/csv",
        data=report_csv(report, tz),
        note="every figure in this report, one per row, for a spreadsheet",
    )
    context = {
        "council": settings.council,
        "mailbox": settings.mailbox.address,
        "report": report,
        "chart": {"cid": chart.content_id, "alt": chart_alt(report)},
    }
    mails = [
        composer.compose(
            Purpose.COMMITTEE_REPORT,
            Recipient(p.email, p.name),
            context,
            attachments=[csv_file],
            inline=[chart],
            template=TEMPLATE,
            auto_submitted="auto-generated",  # RFC 3834: periodic mail, not a reply to anything
            now=now,
        )
        for p in people
    ]
    try:
        with transaction(sessions, "record the monthly report") as session:
            done = store.sent_for(session, month)
            if done is not None:
                return ReportRun(month, False, tuple(done.recipients))
            store.record_report(session, month, mails, report.opening)
    except StorageConflict:  # another instance recorded the month between our check and our insert
        with reading(sessions, "read the monthly report") as session:
            done = store.sent_for(session, month)
        return ReportRun(month, False, tuple(done.recipients) if done else ())
    return ReportRun(month, True, tuple(p.email for p in people), report)


def due_month(settings: Settings, now: datetime) -> date | None:
    """The month whose report is due now: last month's, from this month's first working day to the 7th (local time).

    A service that was down on the first working day sends it on the next weekday it runs,
    within the first week; after that the scheduler leaves the month to `report --send`.
    """
    today = now.astimezone(settings.council.tz).date()
    if today.day > LAST_DAY_DUE or today < first_working_day(today.year, today.month):
        return None
    return previous_month(today)
