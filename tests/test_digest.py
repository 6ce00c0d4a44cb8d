"""The digest's content, as pure tables: facts of a period in, the sections the Clerk reads out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from intake.digest import (
    Counts,
    DecisionLine,
    DigestFacts,
    DigestOptions,
    FlagLine,
    HeldLine,
    ItemLine,
    MailLine,
    QuarantineLine,
    age_text,
    build_digest,
    next_review,
    reconciliation,
    review_reminder,
)

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
START = NOW - timedelta(days=1)
OPTIONS = DigestOptions(tz=LONDON, council="Testham Town Council", overdue_hours=48)
NAMES = {"sam@example.org": "Sam Smat (SMAT member)"}


def item(
    ref: str, hours: float, kind: str = "draft", status: str = "in_review", subject: str = "Litter pick"
) -> ItemLine:
    return ItemLine(ref, kind, status, subject, "jane@example.com", NOW - timedelta(hours=hours))


def section(digest, title_start: str):
    (found,) = [s for s in digest.sections if s.title.startswith(title_start)]
    return found


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(seconds=30), "0 minutes"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=59), "59 minutes"),
        (timedelta(hours=1, minutes=5), "1 hour"),
        (timedelta(hours=23), "23 hours"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=3, hours=4, minutes=9), "3 days 4 hours"),
        (timedelta(seconds=-5), "0 minutes"),
    ],
)
def test_an_age_is_said_in_words_a_phone_screen_holds(delta, words):
    assert age_text(delta) == words


@pytest.mark.parametrize(
    ("counts", "line"),
    [
        (
            Counts(),
            "Received 0 = 0 new items + 0 replies + 0 automatic mail ignored + 0 quarantined + 0 repeats folded.",
        ),
        (
            Counts(received=9, new_items=3, replies=3, automatic=1, quarantined=1, repeats=1),
            "Received 9 = 3 new items + 3 replies + 1 automatic mail ignored + 1 quarantined + 1 repeats folded.",
        ),
    ],
)
def test_the_reconciliation_line_adds_up_every_message_received(counts, line):
    assert reconciliation(counts) == line


def test_a_message_no_category_accounts_for_is_shouted_not_hidden():
    line = reconciliation(Counts(received=4, new_items=1, replies=1))
    assert line.endswith("2 NOT ACCOUNTED FOR: please tell whoever runs the service.")


@pytest.mark.parametrize(
    ("review", "today", "reminder"),
    [
        (None, date(2027, 4, 20), ""),
        (date(2027, 5, 1), date(2027, 3, 31), ""),  # 31 days before: not yet
        (date(2027, 5, 1), date(2027, 4, 1), "in 30 days"),
        (date(2027, 5, 1), date(2027, 4, 30), "in 1 day"),
        (date(2027, 5, 1), date(2027, 5, 1), "today"),
        (date(2027, 5, 1), date(2027, 5, 2), ""),  # the next one is a year away
        (date(2027, 5, 1), date(2028, 4, 11), "in 20 days"),  # yearly: 1 May 2028
    ],
)
def test_the_policy_review_reminder_comes_in_the_30_days_before_the_yearly_date(review, today, reminder):
    said = review_reminder(review, today)
    if not reminder:
        assert said == ""
    else:
        assert reminder in said and "§11" in said


def test_a_review_on_29_february_falls_on_28_february_in_other_years():
    assert next_review(date(2028, 2, 29), date(2029, 1, 1)) == date(2029, 2, 28)


def test_a_quiet_day_still_has_a_digest_that_says_so_and_every_section():
    digest = build_digest(DigestFacts(START, NOW, Counts()), OPTIONS)
    assert digest.quiet
    assert "quiet day" in digest.subject and digest.subject.startswith("[SMAT digest] ")
    assert "The service is running." in digest.opening
    assert [s.title for s in digest.sections] == [
        "Received since the last digest",
        "Awaiting a decision, oldest first",
        "Overdue: drafts waiting over 48 hours",
        "Reports overdue: not actioned within 5 working days",
        "Decided",
        "High flags",
        "Quarantined",
        "Mail not delivered or waiting over an hour",
        "Refused commands (possible impostors)",
        "Acknowledgements held back",
        "Roster changes awaiting your review",
        "The mailbox",
    ]
    assert all(not s.lines for s in digest.sections)
    assert "Nothing is waiting." in digest.as_text()


def test_pending_items_show_their_age_and_only_drafts_past_the_limit_are_overdue():
    pending = (
        item("SMAT-2026-0001", 50),
        item("SMAT-2026-0002", 47),
        item("SMAT-2026-0003", 72, kind="report", status="open"),
    )
    facts = DigestFacts(START, NOW, Counts(received=1, new_items=1), pending=pending)
    digest = build_digest(facts, OPTIONS)
    assert section(digest, "Awaiting").lines == (
        "SMAT-2026-0001 “Litter pick” (draft, in review) waiting 2 days 2 hours",
        "SMAT-2026-0002 “Litter pick” (draft, in review) waiting 1 day 23 hours",
        "SMAT-2026-0003 “Litter pick” (report, open) waiting 3 days",
    )
    assert section(digest, "Overdue").lines == (
        "SMAT-2026-0001 “Litter pick” from jane@example.com, waiting 2 days 2 hours",
    )
    assert "1 overdue" in digest.subject and "3 awaiting a decision" in digest.subject


def test_the_overdue_limit_is_the_configured_number_of_hours():
    facts = DigestFacts(START, NOW, Counts(), pending=(item("SMAT-2026-0002", 30),))
    tighter = DigestOptions(tz=LONDON, council="x", overdue_hours=24)
    assert section(build_digest(facts, tighter), "Overdue").lines
    assert not section(build_digest(facts, OPTIONS), "Overdue").lines


def test_decisions_say_what_by_whom_when_with_reasons_and_where_posted_and_refusals_are_impostors():
    at = datetime(2026, 11, 29, 14, 5, tzinfo=UTC)  # GMT in November: 14:05 local
    decisions = (
        DecisionLine("SMAT-2026-0001", "Fete", "sam@example.org", at, "APPROVE", "", True, "", "approved"),
        DecisionLine(
            "SMAT-2026-0002", "Rant", "sam@example.org", at, "REJECT", "party political", True, "", "rejected"
        ),
        DecisionLine("SMAT-2026-0001", "Fete", "sam@example.org", at, "POSTED", "Facebook", True, "", "posted"),
        DecisionLine(
            "SMAT-2026-0003", "Bins", "mallory@example.net", at, "APPROVE", "", False, "only SMAT members decide", None
        ),
    )
    facts = DigestFacts(START, NOW, Counts(received=4, replies=4), decisions=decisions)
    digest = build_digest(facts, OPTIONS, lambda e: NAMES.get(e, e))
    assert section(digest, "Decided").lines == (
        "SMAT-2026-0001 “Fete”: APPROVE by Sam Smat (SMAT member) at Sun 29 Nov 14:05, now approved",
        "SMAT-2026-0002 “Rant”: REJECT by Sam Smat (SMAT member) at Sun 29 Nov 14:05, rejected: party political",
        "SMAT-2026-0001 “Fete”: POSTED by Sam Smat (SMAT member) at Sun 29 Nov 14:05, posted: Facebook",
    )
    assert section(digest, "Refused").lines == (
        "mallory@example.net sent APPROVE on SMAT-2026-0003 “Bins” at Sun 29 Nov 14:05: "
        "refused, only SMAT members decide",
    )
    assert not digest.quiet


def test_times_today_are_shown_as_the_clock_in_the_council_time_zone():
    summer_now = datetime(2027, 7, 1, 12, 0, tzinfo=UTC)
    at = datetime(2027, 7, 1, 9, 30, tzinfo=UTC)  # 10:30 in London (BST)
    facts = DigestFacts(
        summer_now - timedelta(days=1), summer_now, Counts(), held=(HeldLine("SMAT-2027-0009", "x@y.z", at),)
    )
    assert section(build_digest(facts, OPTIONS), "Acknowledgements").lines == ("SMAT-2027-0009 from x@y.z at 10:30",)


def test_flags_quarantine_mail_problems_and_held_acknowledgements_are_listed():
    facts = DigestFacts(
        START,
        NOW,
        Counts(received=1, quarantined=1),
        flags=(FlagLine("SMAT-2026-0004", "Party", "political", "6.5", "vote for"),),
        quarantined=(
            QuarantineLine("SMAT-2026-0005", "", "", "could not be parsed: no headers", NOW - timedelta(hours=2)),
        ),
        still_quarantined=3,
        mail=(
            MailLine("SMAT-2026-0004", "acknowledgement", ("a@b.c",), "failed", "550 no such user", NOW, 1),
            MailLine("", "digest", ("clerk@example.org",), "pending", "451 busy", NOW - timedelta(hours=2), 3),
        ),
        held=(HeldLine("SMAT-2026-0006", "flood@example.net", NOW - timedelta(hours=1)),),
    )
    digest = build_digest(facts, OPTIONS)
    assert section(digest, "High flags").lines == ("SMAT-2026-0004 “Party”: political (policy 6.5): vote for",)
    assert section(digest, "Quarantined").lines == (
        "SMAT-2026-0005 from (no sender) “(no subject)” at 06:00: could not be parsed: no headers",
    )
    assert section(digest, "Quarantined").note == "3 items in quarantine in all, waiting for you."
    assert section(digest, "Mail not").lines == (
        "acknowledgement about SMAT-2026-0004 to a@b.c could not be delivered: 550 no such user",
        "digest to clerk@example.org waiting 2 hours, 3 attempts (last error: 451 busy)",
    )
    assert section(digest, "Acknowledgements").lines == ("SMAT-2026-0006 from flood@example.net at 07:00",)
    assert "1 mail problem" not in digest.subject and "2 mail problems" in digest.subject
