"""[screening]: the checks and the builder for the screening rules' settings.

    [screening]
    off = ["links"]                                  # rules switched off
    severity = { platform_fit = "warn" }             # a rule's ordinary flags at another severity
    words = { offensive = ["wazzock"], political = ["Biggleswade First"] }
    pre_election = [{ start = 2027-03-25, end = 2027-05-06 }]
    accounts = [{ platform = "x", handle = "@BiggleswadeTC" }, { platform = "instagram" }]

The rule ids are those of intake/screening (a test keeps the two lists equal). Dates may be
TOML dates or "YYYY-MM-DD" strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from intake.config.checks import show
from intake.config.settings import Account, Period, Screening

RULE_IDS = ("personal_data", "offensive", "political", "defamation", "pictures", "links", "platform_fit")
SEVERITIES = ("info", "warn", "high")

# What each platform takes: the most characters a post may have, and whether it needs a picture.
PLATFORMS: dict[str, tuple[int, bool]] = {
    "x": (280, False),
    "bluesky": (300, False),
    "threads": (500, False),
    "mastodon": (500, False),
    "instagram": (2200, True),
    "facebook": (63206, False),
    "linkedin": (3000, False),
    "nextdoor": (8000, False),
}


def _rule_name(name: Any) -> str | None:
    """A rule id, or the problem with it."""
    if name in RULE_IDS:
        return None
    return f"names {show(name)}, which is not a rule (rules: {', '.join(RULE_IDS)})"


def rules_list(value: Any) -> str | None:
    """`off`: a list of rule ids."""
    if not isinstance(value, list):
        return f'must be a list of rule names such as ["links"], not {show(value)}'
    return next((problem for name in value if (problem := _rule_name(name))), None)


def severity_table(value: Any) -> str | None:
    """`severity`: a table of rule id -> info, warn or high."""
    if not isinstance(value, dict):
        return f'must be a table such as {{ links = "info" }}, not {show(value)}'
    for rule, severity in value.items():
        problem = _rule_name(rule)
        if problem:
            return problem
        if severity not in SEVERITIES:
            return f"gives {rule} the severity {show(severity)}; use one of {', '.join(SEVERITIES)}"
    return None


def words_table(value: Any) -> str | None:
    """`words`: a table of rule id -> list of extra words or phrases."""
    if not isinstance(value, dict):
        return f'must be a table such as {{ offensive = ["wazzock"] }}, not {show(value)}'
    for rule, words in value.items():
        problem = _rule_name(rule)
        if problem:
            return problem
        if not (isinstance(words, list) and all(isinstance(w, str) and w.strip() for w in words)):
            return f"gives {rule} {show(words)}; it must be a list of words in quotes"
    return None


def _day(value: Any) -> date | None:
    """A TOML date or an ISO "YYYY-MM-DD" string as a date; None if it is neither."""
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _must_day(value: Any) -> date:
    """A date already checked by `periods`."""
    day = _day(value)
    assert day is not None
    return day


def periods(value: Any) -> str | None:
    """`pre_election`: a list of {start, end} tables, start not after end."""
    if not isinstance(value, list):
        return f"must be a list such as [{{ start = 2027-03-25, end = 2027-05-06 }}], not {show(value)}"
    for number, entry in enumerate(value, start=1):
        if not isinstance(entry, dict) or set(entry) != {"start", "end"}:
            return f"entry {number} must be a table with exactly start and end"
        start, end = _day(entry["start"]), _day(entry["end"])
        if start is None or end is None:
            return f"entry {number} needs dates such as 2027-03-25 for start and end"
        if start > end:
            return f"entry {number} starts after it ends"
    return None


def accounts(value: Any) -> str | None:
    """`accounts`: a list of {platform, handle} tables with known platforms."""
    if not isinstance(value, list):
        return f'must be a list such as [{{ platform = "x", handle = "@BiggleswadeTC" }}], not {show(value)}'
    for number, entry in enumerate(value, start=1):
        if not isinstance(entry, dict) or "platform" not in entry or not set(entry) <= {"platform", "handle"}:
            return f"entry {number} must be a table with platform (and optionally handle)"
        if entry["platform"] not in PLATFORMS:
            return f"entry {number} names the platform {show(entry['platform'])}; use one of {', '.join(PLATFORMS)}"
        if not isinstance(entry.get("handle", ""), str):
            return f"entry {number} handle must be a string in quotes"
    return None


def build(values: Mapping[str, Any]) -> Screening:
    """The checked values of [screening] as frozen settings."""
    return Screening(
        off=tuple(values["off"]),
        severity=tuple(sorted(values["severity"].items())),
        words=tuple((rule, tuple(words)) for rule, words in sorted(values["words"].items())),
        pre_election=tuple(Period(_must_day(p["start"]), _must_day(p["end"])) for p in values["pre_election"]),
        accounts=tuple(Account(a["platform"], a.get("handle", "")) for a in values["accounts"]),
    )
