"""Pictures (policy §5, Appendix A): permission of the copyright owner and consent of the people shown.

Any picture asks the reviewer to confirm both (warn). A picture with children, pupils, a
school or under-18s in the text is high: "permission must be given by a parent or legal
guardian; permission from secondary guardians such as schoolteachers is not sufficient".
A text that says parents or guardians gave their permission keeps the ordinary warning.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from intake.screening.base import Draft, Flag, around, extra_words, words_pattern

if TYPE_CHECKING:
    from intake.config import Settings

ID, SECTION, SEVERITY = "pictures", "5, Appendix A", "warn"
DESCRIPTION = "pictures need the copyright owner's permission and consent; under-18s a parent's or guardian's"

_MINORS = (
    "child",
    "children",
    "kids",
    "pupil",
    "pupils",
    "school",
    "schools",
    "schoolchildren",
    "primary",
    "academy",
    "nursery",
    "pre-school",
    "preschool",
    "under-18",
    "under-18s",
    "under 18",
    "under 18s",
    "under-16s",
    "under 16s",
    "teenager",
    "teenagers",
    "teens",
    "youth",
    "young people",
    "youngsters",
    "little ones",
    "young ones",
    "infants",
    "tots",
    "boys",
    "girls",
    "baby",
    "babies",
    "toddler",
    "toddlers",
    "juniors",
    "scouts",
    "cubs",
    "beavers",
    "brownies",
    "rainbows",
    "guides",
    "year 6",
    "class of",
)
_CONSENT = re.compile(
    r"\b(?:parents?|guardians?|carers?|parental|families)(?:'|’s|'s)?\b[^.!?\n]{0,80}?"
    r"\b(?:consent(?:ed)?|permission|agreed|signed\s+(?:the\s+)?(?:photo\s+)?(?:consent|release)|opted\s+in)\b"
    r"|\b(?:consent|permission)\b[^.!?\n]{0,60}?\b(?:parents?|guardians?|carers?|families)\b",
    re.IGNORECASE,
)
_TEACHER_ONLY = re.compile(
    r"\b(?:teacher|head\s*teacher|school|staff)\b[^.!?\n]{0,40}\b(?:consent|permission|agreed|ok)", re.I
)


def check(draft: Draft, config: Settings) -> list[Flag]:
    """Nothing without pictures; else the consent warning, high where children may be shown."""
    if draft.pictures <= 0:
        return []
    text = draft.words
    count = f"{draft.pictures} picture{'' if draft.pictures == 1 else 's'}"
    minors = words_pattern((*_MINORS, *extra_words(config, ID)))
    assert minors is not None
    child = minors.search(text)
    consent = _CONSENT.search(text)
    if child and not consent:
        teacher = " (a teacher's or school's permission is not enough)" if _TEACHER_ONLY.search(text) else ""
        excerpt = (
            f"{count} with under-18s likely shown: a parent's or guardian's permission is needed{teacher}: "
            f"{around(text, *child.span())}"
        )
        return [Flag(ID, SECTION, "high", excerpt)]
    said = f"; consent noted: {around(text, *consent.span(), 80)}" if consent else ""
    excerpt = f"{count}: confirm the copyright owner's permission and the consent of anyone shown{said}"
    return [Flag(ID, SECTION, SEVERITY, excerpt)]
