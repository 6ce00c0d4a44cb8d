"""Working days in England and Wales: Monday to Friday, less the bank holidays (with their substitute days).

Pure. The committee report goes on the first working day of each month (a bank holiday on the
1st, such as New Year's Day or an early-May Monday, moves it on), and a report from the public is
due a number of working days after it arrived. One-off holidays proclaimed for a single year (a
coronation, a jubilee) and moved May holidays are not known here.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

SATURDAY = 5


def easter_sunday(year: int) -> date:
    """Easter Day in the Gregorian calendar (the anonymous algorithm, as in Meeus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    lam = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * lam) // 451
    month, day = divmod(h + lam - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _first_monday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def _last_monday(year: int, month: int) -> date:
    after = date(year + month // 12, month % 12 + 1, 1)
    last = after - timedelta(days=1)
    return last - timedelta(days=last.weekday())


@functools.cache
def bank_holidays(year: int) -> frozenset[date]:
    """The bank holidays of England and Wales in a year; one on a weekend moves to the next free weekday."""
    easter = easter_sunday(year)
    fixed = [date(year, 1, 1), date(year, 12, 25), date(year, 12, 26)]  # these have substitute days
    days = {
        easter - timedelta(days=2),  # Good Friday
        easter + timedelta(days=1),  # Easter Monday
        _first_monday(year, 5),  # early May
        _last_monday(year, 5),  # spring
        _last_monday(year, 8),  # summer
    }
    days |= {d for d in fixed if d.weekday() < SATURDAY}
    for day in fixed:
        if day.weekday() >= SATURDAY:
            substitute = day
            while substitute.weekday() >= SATURDAY or substitute in days:
                substitute += timedelta(days=1)
            days.add(substitute)
    return frozenset(days)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a bank holiday."""
    return day.weekday() < SATURDAY and day not in bank_holidays(day.year)


def first_working_day(year: int, month: int) -> date:
    """The month's first working day (2 January 2027, 4 May 2026, …)."""
    day = date(year, month, 1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(day: date, count: int) -> date:
    """The `count`th working day after `day` (a report of Friday due in 2 working days is due on Tuesday)."""
    for _ in range(count):
        day += timedelta(days=1)
        while not is_working_day(day):
            day += timedelta(days=1)
    return day


def past_deadline(received: date, today: date, working_days: int) -> bool:
    """Whether something received on `received` is overdue on `today`: its last working day has gone by."""
    return today > add_working_days(received, working_days)


def working_days_between(start: date, end: date) -> int:
    """How many working days follow `start` up to and including `end` (0 if `end` is not after it)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count
