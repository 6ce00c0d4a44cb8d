"""The monthly committee report's figures from plain rows, as tables: counts by kind and outcome, time to
decision (median, 90th percentile), posts by account, flags by rule, reports actioned and overdue,
working days; and its files: the chart (a PNG Pillow opens) and the CSV (every figure, parsed back)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from intake.monthly import (
    ACTIONED,
    build_report,
    count_outcomes,
    flags_by_rule,
    median,
    outcome_label,
    percentile,
    posts_by_account,
    posts_of,
    report_lines,
    split_posted,
    time_to_decision,
)
from intake.monthly_facts import (
    DecisionFact,
    ItemFact,
    MonthFacts,
    MonthOptions,
    ReportFact,
    month_bounds,
    previous_month,
)
from intake.monthly_files import chart_alt, chart_png, report_csv
from intake.workdays import add_working_days, bank_holidays, first_working_day, past_deadline, working_days_between

LONDON = ZoneInfo("Europe/London")
NOVEMBER = date(2026, 11, 1)
START, END = month_bounds(NOVEMBER, LONDON)
H = timedelta(hours=1)


def at(day: int, hour: int = 10, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def item(ref: str, kind: str = "draft", day: int = 2, **extra) -> ItemFact:
    return ItemFact(ref, kind, f"Subject {ref}", at(day), **extra)


def decided(ref: str, new_status: str, when: datetime, arrived: datetime, kind: str = "draft", **extra) -> DecisionFact:
    command = {"approved": "APPROVE", "rejected": "REJECT", "posted": "POSTED", "withdrawn": "WITHDRAW"}
    values = {"command": command.get(new_status, "ACTIONED"), "argument": "", "by": "sam@example.org", **extra}
    return DecisionFact(
        ref, kind, f"Subject {ref}", arrived, values["by"], when, values["command"], values["argument"], new_status
    )


def facts(**parts) -> MonthFacts:
    return MonthFacts(NOVEMBER, START, END, **parts)


# --- time to decision ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "middle", "p90"),
    [
        ([], None, None),
        ([5], 5, 5),
        ([1, 3], 2, 3),
        ([4, 1, 3], 3, 4),
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5.5, 9),  # nearest rank: 9 of 10 at or below 9 hours
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100], 6, 10),  # ceil(0.9 * 11) = 10th value
        ([2] * 19 + [50], 2, 2),  # one long wait does not move either figure
    ],
)
def test_median_and_nearest_rank_90th_percentile(hours, middle, p90):
    values = [h * H for h in hours]
    assert median(values) == (None if middle is None else middle * H)
    assert percentile(values) == (None if p90 is None else p90 * H)


def test_time_to_decision_counts_each_items_first_decision_in_the_month_per_kind():
    october = at(30, 10, month=10)
    month = facts(
        decisions=(
            decided("D1", "approved", at(2, 12), at(2)),  # 2 hours
            decided("D1", "posted", at(3), at(2)),  # posting is not the decision
            decided("D2", "rejected", at(5, 10), at(3, 10)),  # 48 hours
            decided("D3", "approved", at(2, 10), october),  # came in October: still counted when decided
            decided("D4", "withdrawn", at(4), at(2)),  # the drafter's, not a decision
            decided("D5", "", at(4), at(2)),  # QUERY, ESCALATE: no state decided
            decided("R1", ACTIONED, at(6, 10), at(2, 10), kind="report"),  # 4 days
            decided("E1", "answered", at(2, 13), at(2, 10), kind="enquiry"),  # once RESPOND answers an enquiry
        )
    )
    drafts, reports, enquiries = time_to_decision(month)
    assert (drafts.decisions, drafts.median, drafts.p90) == (3, 48 * H, 72 * H)
    assert (reports.decisions, reports.median, reports.p90) == (1, 96 * H, 96 * H)
    assert (enquiries.decisions, enquiries.median) == (1, 3 * H)


# --- counts by kind and outcome, as at the end of the month -----------------------------------


def test_outcomes_are_read_as_at_the_end_of_the_month_from_the_months_decisions():
    month = facts(
        items=(
            item("D1"),
            item("D2"),
            item("D3"),
            item("D4"),
            item("D5"),
            item("D6", quarantined=True),
            item("R1", "report"),
            item("R2", "report"),
            item("E1", "enquiry"),
        ),
        decisions=(
            decided("D1", "approved", at(2, 11), at(2)),
            decided("D1", "posted", at(3), at(2)),
            decided("D2", "approved", at(4), at(2)),
            decided("D3", "rejected", at(4), at(2)),
            decided("D4", "queried", at(4), at(2)),
            decided("R1", ACTIONED, at(9), at(2), kind="report"),
            decided("E1", "awaiting_reply", at(9), at(2), kind="enquiry"),  # a state added later: named as it is
        ),
    )
    drafts, reports, enquiries = count_outcomes(month)
    assert drafts.received == 6
    assert dict(drafts.outcomes) == {"posted": 1, "approved": 1, "rejected": 1, "awaiting": 2, "quarantined": 1}
    assert [o for o, _ in drafts.outcomes] == ["posted", "approved", "rejected", "awaiting", "quarantined"]
    assert (reports.received, dict(reports.outcomes)) == (2, {"actioned": 1, "awaiting": 1})
    assert (enquiries.received, enquiries.outcomes) == (1, (("awaiting_reply", 1),))
    assert (
        outcome_label("awaiting_reply") == "awaiting reply" and outcome_label("approved") == "approved, not yet posted"
    )


# --- posts, accounts, flags ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "account", "link"),
    [
        ("Facebook https://facebook.com/testham/posts/1", "Facebook", "https://facebook.com/testham/posts/1"),
        ("X", "X", ""),
        ("Town Facebook page http://fb.me/1 thanks", "Town Facebook page thanks", "http://fb.me/1"),
        ("", "(account not named)", ""),
    ],
)
def test_the_account_and_link_are_read_from_posteds_argument(argument, account, link):
    assert split_posted(argument) == (account, link)


def test_posts_are_listed_in_order_and_counted_per_account_registered_accounts_included():
    month = facts(
        decisions=(
            decided("D2", "posted", at(9), at(2), argument="x https://x.com/1"),
            decided("D1", "posted", at(3), at(2), argument="Facebook https://fb.com/1"),
            decided("D3", "approved", at(4), at(2), argument="Facebook"),
            decided("D4", "posted", at(10), at(2), argument="Facebook"),
        )
    )
    posts = posts_of(month)
    assert [(p.ref, p.account, p.url) for p in posts] == [
        ("D1", "Facebook", "https://fb.com/1"),
        ("D2", "x", "https://x.com/1"),
        ("D4", "Facebook", ""),
    ]
    assert posts_by_account(posts, ("X", "Instagram")) == (("X", 1), ("Instagram", 0), ("Facebook", 2))
    assert posts_by_account((), ()) == ()


def test_flags_are_counted_per_rule_most_first_with_the_high_ones():
    items = (
        item("D1", flags=(("personal_data", "6.6", "warn"), ("pictures", "5", "high"))),
        item("D2", flags=(("personal_data", "6.6", "high"), ("personal_data", "6.6", "warn"))),
        item("D3", flags=(("links", "6.3", "warn"),)),
        item("D4"),
    )
    assert [(f.rule, f.section, f.total, f.high) for f in flags_by_rule(items)] == [
        ("personal_data", "6.6", 3, 1),
        ("links", "6.3", 1, 0),
        ("pictures", "5", 1, 1),
    ]


# --- reports actioned and overdue ---------------------------------------------------------------


def test_reports_actioned_in_the_month_on_time_or_late_and_those_overdue_at_its_end():
    reports = (
        ReportFact("R1", "Bench", at(2), at(6), "sam@example.org"),  # Mon 2 -> Fri 6: 4 working days, due Mon 9
        ReportFact("R2", "Pothole", at(2), at(12), "sam@example.org"),  # actioned Thu 12: late
        ReportFact("R3", "Lamp", at(20), None),  # Fri 20, due Fri 27: overdue at the end of the month
        ReportFact("R4", "Bin", at(25), None),  # Wed 25, due Wed 2 Dec: open but not overdue
        ReportFact("R5", "Graffiti", at(20, month=10), at(3, month=12), "sam@example.org"),  # actioned after the month
        ReportFact("R6", "Sign", at(26), at(30, 9)),  # Thu 26, actioned Mon 30 within its time
    )
    actioned, overdue = report_lines(facts(reports=reports), LONDON, 5)
    assert [(r.ref, r.working_days, r.late, r.due) for r in actioned] == [
        ("R1", 4, False, date(2026, 11, 9)),
        ("R2", 8, True, date(2026, 11, 9)),
        ("R6", 2, False, date(2026, 12, 3)),
    ]
    assert [(r.ref, r.due, r.working_days) for r in overdue] == [
        ("R5", date(2026, 10, 27), 29),
        ("R3", date(2026, 11, 27), 6),
    ]


# --- working days (England and Wales) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "first"),
    [
        (2026, 12, date(2026, 12, 1)),  # a Tuesday
        (2026, 11, date(2026, 11, 2)),  # the 1st is a Sunday
        (2027, 1, date(2027, 1, 4)),  # New Year's Day on a Friday, then the weekend
        (2026, 5, date(2026, 5, 1)),  # a Friday; the early May bank holiday is Monday 4th
        (2028, 5, date(2028, 5, 2)),  # the 1st is the early May bank holiday Monday
        (2024, 4, date(2024, 4, 2)),  # Easter Monday on the 1st
        (2022, 1, date(2022, 1, 4)),  # 1 January a Saturday: Monday 3rd is its substitute
    ],
)
def test_the_first_working_day_of_a_month(year, month, first):
    assert first_working_day(year, month) == first


def test_bank_holidays_with_their_substitute_days():
    assert sorted(bank_holidays(2027)) == [
        date(2027, 1, 1),
        date(2027, 3, 26),  # Good Friday
        date(2027, 3, 29),  # Easter Monday
        date(2027, 5, 3),
        date(2027, 5, 31),
        date(2027, 8, 30),
        date(2027, 12, 27),  # Christmas on a Saturday
        date(2027, 12, 28),  # Boxing Day on a Sunday
    ]
    assert {date(2026, 12, 25), date(2026, 12, 28)} <= bank_holidays(2026)  # Boxing Day a Saturday
    assert add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)
    assert add_working_days(date(2026, 11, 6), 2) == date(2026, 11, 10)  # Friday + 2 = Tuesday
    assert working_days_between(date(2026, 11, 6), date(2026, 11, 10)) == 2
    assert working_days_between(date(2026, 11, 10), date(2026, 11, 6)) == 0
    assert not past_deadline(date(2026, 12, 24), date(2026, 12, 29), 1)  # due Tuesday 29th, after the holidays
    assert past_deadline(date(2026, 12, 24), date(2026, 12, 30), 1)


def test_the_month_runs_midnight_to_midnight_in_the_council_time_zone():
    start, end = month_bounds(date(2026, 3, 1), LONDON)
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (
        datetime(2026, 3, 1, 0, 0, tzinfo=UTC),  # GMT
        datetime(2026, 3, 31, 23, 0, tzinfo=UTC),  # BST from 29 March
    )
    assert previous_month(date(2027, 1, 4)) == date(2026, 12, 1)
    assert month_bounds(date(2026, 12, 1), LONDON)[1].date() == date(2027, 1, 1)


# --- the report, its chart and its CSV --------------------------------------------------------------


def a_month() -> MonthFacts:
    return facts(
        items=(
            item("D1", day=2, flags=(("links", "6.3", "warn"),)),
            item("D2", day=2),
            item("R1", "report", day=3),
            item("E1", "enquiry", day=17),
        ),
        decisions=(
            decided("D1", "approved", at(2, 15), at(2)),
            decided("D1", "posted", at(3), at(2), argument="Facebook https://facebook.com/p/1"),
        ),
        reports=(ReportFact("R1", "Broken bench", at(3), None),),
        accounts=("Facebook", "Instagram"),
    )


def test_the_report_says_the_months_figures_in_words():
    report = build_report(a_month(), MonthOptions(LONDON, "Testham Town Council"), {"sam@example.org": "Sam"}.get)
    assert report.subject == "[SMAT report] November 2026: 4 received, 1 post, 1 report overdue"
    assert report.opening.startswith("In November 2026 SMAT received 4 items (2 drafts, 1 report, 1 enquiry);")
    text = report.as_text()
    assert "Drafts: 2 — 1 posted, 1 not yet decided" in text
    assert "Drafts: 1 decision; median 5 hours, 9 in 10 within 5 hours (90th percentile)" in text
    assert "Tue 03 Nov: D1 “Subject D1” on Facebook https://facebook.com/p/1, recorded by Sam" in text
    assert "Facebook: 1 post" in text and "Instagram: 0 posts" in text
    assert "links (policy 6.3): 1" in text
    assert "R1 “Broken bench”: received Tue 03 Nov, due Tue 10 Nov, open for 19 working days" in text


def test_a_quiet_month_says_so():
    report = build_report(facts(), MonthOptions(LONDON, "Testham Town Council"))
    assert report.opening == "A quiet month: nothing was received, published or actioned in November 2026."
    assert report.subject == "[SMAT report] November 2026: 0 received, 0 posts"
    assert chart_alt(report) == "Bar chart of items received each day in November 2026: none were received."
    assert Image.open(io.BytesIO(chart_png(report))).format == "PNG"


def test_the_chart_is_a_png_and_its_alt_text_gives_the_figures():
    report = build_report(a_month(), MonthOptions(LONDON, "Testham Town Council"))
    png = chart_png(report)
    picture = Image.open(io.BytesIO(png))
    picture.verify()
    assert (picture.format, picture.size) == ("PNG", (960, 540))
    assert chart_alt(report) == (
        "Bar chart of items received each day in November 2026, by kind: 4 in all "
        "(2 drafts, 1 report, 1 enquiry); the busiest day was Mon 02 Nov with 2."
    )


def test_the_csv_holds_every_figure_one_per_row():
    report = build_report(a_month(), MonthOptions(LONDON, "Testham Town Council"))
    data = report_csv(report, LONDON)
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with the BOM
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    figures = {(r["section"], r["kind"], r["measure"]): r["value"] for r in rows if r["section"] != "post published"}
    assert figures[("received", "draft", "items")] == "2"
    assert figures[("outcome at end of month", "draft", "posted")] == "1"
    assert figures[("time to decision", "draft", "median hours")] == "5.0"
    assert figures[("time to decision", "report", "median hours")] == ""
    assert figures[("posts by account", "", "posts")] in {"1", "0"}
    assert [(r["date"], r["ref"], r["account"], r["link"]) for r in rows if r["section"] == "post published"] == [
        ("2026-11-03", "D1", "Facebook", "https://facebook.com/p/1")
    ]
    assert [(r["account"], r["value"]) for r in rows if r["section"] == "posts by account"] == [
        ("Facebook", "1"),
        ("Instagram", "0"),
    ]
    per_day = [r for r in rows if r["section"] == "received per day"]
    assert len(per_day) == 30 * 3 and sum(int(r["value"]) for r in per_day) == 4
    assert [(r["ref"], r["date"]) for r in rows if r["section"] == "report overdue"] == [("R1", "2026-11-10")]


def test_a_csv_cell_never_runs_as_a_formula():
    month = facts(decisions=(decided("D1", "posted", at(3), at(2), argument="=HYPERLINK(1)"),))
    data = report_csv(build_report(month, MonthOptions(LONDON, "Testham")), LONDON).decode("utf-8-sig")
    (post,) = [r for r in csv.DictReader(io.StringIO(data)) if r["section"] == "post published"]
    assert post["account"] == "'=HYPERLINK(1)"
