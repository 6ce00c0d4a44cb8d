"""Screening: one rule per module, each reading a draft and returning flags; RULES lists them in order.

Screening informs reviewers and never rejects (issue 9): a rule's flags carry its id, the
policy section it serves, a severity (info, warn, high) and the excerpt that triggered it.
High flags mean only the Town Clerk or the Deputy Town Clerk can approve (decisions.py).
[screening] in the config switches rules off, changes the severity of a rule's ordinary
flags (a rule may still raise one to high: party politics in a pre-election period) and adds
words. Pure: no database, no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from intake.screening import defamation, links, offensive, personal_data, pictures, platform_fit, political
from intake.screening.base import SEVERITIES, Draft, Flag, Rule

if TYPE_CHECKING:
    from intake.config import Settings
    from intake.files import ExaminedFile

RULES: tuple[Rule, ...] = (personal_data, offensive, political, defamation, pictures, links, platform_fit)

__all__ = ["RULES", "SEVERITIES", "Draft", "Flag", "Rule", "by_severity", "screen", "screen_submission"]


def screen(draft: Draft, settings: Settings) -> tuple[Flag, ...]:
    """Every switched-on rule's flags, in rule order, each rule's ordinary severity as configured."""
    config = settings.screening
    flags: list[Flag] = []
    for rule in RULES:
        if not config.is_on(rule.ID):
            continue
        severity = config.severity_of(rule.ID, rule.SEVERITY)
        for flag in rule.check(draft, settings):
            flags.append(replace(flag, severity=severity) if flag.severity == rule.SEVERITY else flag)
    return tuple(flags)


def by_severity(flags: list[dict[str, str]]) -> list[dict[str, str]]:
    """Stored flags for reviewers: high first, then warn, then info, otherwise as raised."""
    order = {severity: rank for rank, severity in enumerate(reversed(SEVERITIES))}
    return sorted(flags, key=lambda flag: order.get(flag.get("severity", ""), len(order)))


def screen_submission(
    subject: str, text: str, files: Sequence[ExaminedFile], received: date, settings: Settings
) -> list[dict[str, str]]:
    """A new submission's flags as stored on its item: its files count as pictures when proven to be ones."""
    pictures = sum(1 for file in files if file.examined.prepared is not None)
    return [flag.as_dict() for flag in screen(Draft(subject, text, pictures, received), settings)]
