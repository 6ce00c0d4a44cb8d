"""Working days (Monday to Friday), for deadlines the council counts in them: a report's, say.

Pure. Bank holidays are not known here: a deadline that spans one falls a day early, which
errs on the side of telling the Clerk sooner.
"""

from __future__ import annotations

from datetime import date, timedelta

_WEEKEND = (5, 6)  # Saturday, Sunday


def is_working_day(day: date) -> bool:
    """Monday to Friday."""
    return day.weekday() not in _WEEKEND


def add_working_days(day: date, count: int) -> date:
    """The date `count` working days after `day` (a weekend day counts from the Monday after)."""
    current = day
    left = count
    while left > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            left -= 1
    return current


def past_deadline(received: date, today: date, working_days: int) -> bool:
    """Whether something received on `received` is overdue on `today`: its last working day has gone by."""
    return today > add_working_days(received, working_days)
