"""Working days, and the digest's reports overdue: a report not actioned in time is escalated (pure tables)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from intake.digest import Counts, DecisionLine, DigestFacts, DigestOptions, ItemLine, build_digest
from intake.workdays import add_working_days, is_working_day, past_deadline

MON, FRI, SAT, SUN = date(2026, 11, 30), date(2026, 12, 4), date(2026, 12, 5), date(2026, 12, 6)


@pytest.mark.parametrize(
    "day, count, due",
    [
        (MON, 0, MON),
        (MON, 1, date(2026, 12, 1)),
        (MON, 5, date(2026, 12, 7)),  # a working week later
        (FRI, 1, date(2026, 12, 7)),  # over the weekend
        (SAT, 1, date(2026, 12, 7)),  # a report on a Saturday counts from the Monday
        (SUN, 5, date(2026, 12, 11)),
    ],
)
def test_adding_working_days_skips_weekends(day, count, due):
    assert add_working_days(day, count) == due


@pytest.mark.parametrize(
    "received, today, overdue",
    [
        (MON, date(2026, 12, 7), False),  # the fifth working day: still in time
        (MON, date(2026, 12, 8), True),
        (FRI, date(2026, 12, 11), False),
        (FRI, date(2026, 12, 12), True),  # the Saturday after its deadline
    ],
)
def test_a_report_is_overdue_once_its_last_working_day_has_gone_by(received, today, overdue):
    assert past_deadline(received, today, 5) is overdue


def test_weekends_are_not_working_days():
    assert [is_working_day(MON + timedelta(days=n)) for n in range(7)] == [True] * 5 + [False] * 2


LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)  # Tuesday


def report(ref: str, received: datetime, kind: str = "report") -> ItemLine:
    return ItemLine(ref, kind, "open", "Broken bench", "jane@example.com", received)


def reports_section(facts: DigestFacts, days: int = 5):
    digest = build_digest(facts, DigestOptions(tz=LONDON, council="Testham", report_deadline_working_days=days))
    (found,) = [s for s in digest.sections if s.title.startswith("Reports overdue")]
    return digest, found


def test_reports_past_their_deadline_are_escalated_in_the_digest_and_counted_in_its_subject():
    pending = (
        report("SMAT-2026-0001", datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),  # Monday a week ago: overdue
        report("SMAT-2026-0002", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),  # Tuesday a week ago: due today
        report("SMAT-2026-0003", datetime(2026, 11, 20, 9, 0, tzinfo=UTC), kind="enquiry"),  # not a report
    )
    digest, section = reports_section(DigestFacts(NOW - timedelta(days=1), NOW, Counts(), pending=pending))
    assert section.title == "Reports overdue: not actioned within 5 working days"
    assert len(section.lines) == 1 and section.lines[0].startswith("SMAT-2026-0001 “Broken bench” from jane@")
    assert "open 7 days 23 hours" in section.lines[0] and "please see that it is actioned" in section.lines[0]
    assert "1 overdue" in digest.subject


def test_an_open_report_says_whom_it_was_assigned_to():
    pending = (replace(report("SMAT-2026-0001", datetime(2026, 11, 30, 9, 0, tzinfo=UTC)), assignee="pat@example.org"),)
    digest, section = reports_section(DigestFacts(NOW - timedelta(days=1), NOW, Counts(), pending=pending))
    (awaiting,) = [s for s in digest.sections if s.title.startswith("Awaiting")]
    assert awaiting.lines[0].endswith("waiting 7 days 23 hours, assigned to pat@example.org")
    assert "assigned to pat@example.org: notice served" in section.lines[0]


def test_the_deadline_is_the_configured_number_of_working_days():
    pending = (report("SMAT-2026-0002", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),)
    _, section = reports_section(DigestFacts(NOW - timedelta(days=1), NOW, Counts(), pending=pending), days=4)
    assert section.title.endswith("within 4 working days") and len(section.lines) == 1


def test_an_actioned_report_is_listed_as_decided_with_its_note_and_an_assignment_with_its_assignee():
    at = NOW - timedelta(hours=2)
    decisions = (
        DecisionLine("SMAT-2026-0001", "Bench", "sam@example.org", at, "ACTIONED", "Repaired", True, "", "actioned"),
        DecisionLine("SMAT-2026-0004", "Sign", "sam@example.org", at, "ASSIGN", "Pat Staff", True, "", None),
        DecisionLine("SMAT-2026-0005", "Bins", "sam@example.org", at, "RESPOND", "bins", True, "", "answered"),
    )
    digest = build_digest(
        DigestFacts(NOW - timedelta(days=1), NOW, Counts(), decisions=decisions), DigestOptions(LONDON, "T")
    )
    (decided,) = [s for s in digest.sections if s.title == "Decided"]
    assert decided.lines[0].endswith("actioned: Repaired")
    assert decided.lines[1].endswith("assigned to Pat Staff")
    assert decided.lines[2].endswith("answered with the standard response bins")
