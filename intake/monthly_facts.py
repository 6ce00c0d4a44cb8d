"""The committee report's inputs: what the store finds for a month (plain values), and the month's bounds.

Pure. `intake.store.monthly.gather` fills `MonthFacts`; `intake.monthly.build_report` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from intake.accounts import RegisteredAccount


@dataclass(frozen=True)
class ItemFact:
    """An item received in the month: what it was, when it came, its flags, and whether it was quarantined."""

    ref: str
    kind: str
    subject: str
    received_at: datetime
    flags: tuple[tuple[str, str, str], ...] = ()  # (rule, policy section, severity)
    quarantined: bool = False


@dataclass(frozen=True)
class DecisionFact:
    """An accepted command recorded in the month, on any item (one that came earlier too)."""

    ref: str
    kind: str
    subject: str
    item_received_at: datetime
    by: str
    at: datetime
    command: str
    argument: str
    new_status: str  # "" when the command changed no state


@dataclass(frozen=True)
class ReportFact:
    """A report from the public that was open at some time in the month, and when it was actioned."""

    ref: str
    subject: str
    received_at: datetime
    actioned_at: datetime | None  # None: not actioned yet
    actioned_by: str = ""


@dataclass(frozen=True)
class MonthFacts:
    """What the store found for one month; times are aware UTC datetimes."""

    month: date  # its first day
    start: datetime
    end: datetime
    items: tuple[ItemFact, ...] = ()
    decisions: tuple[DecisionFact, ...] = ()
    reports: tuple[ReportFact, ...] = ()
    accounts: tuple[str, ...] = ()  # the registered accounts' labels, listed even with no post
    register: tuple[RegisteredAccount, ...] = ()  # the same accounts, to tell which one a POSTED line names


@dataclass(frozen=True)
class MonthOptions:
    """The council's zone and name, the committee the report is for, and when a report is overdue."""

    tz: ZoneInfo
    council: str
    committee: str = "Finance and General Purposes Committee"
    report_deadline_days: int = 5  # working days to action a report from the public


def month_bounds(month: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in the council's time zone."""
    first = month.replace(day=1)
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return datetime.combine(first, time(), tz), datetime.combine(after, time(), tz)


def previous_month(day: date) -> date:
    """The first day of the month before the one `day` is in."""
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)
