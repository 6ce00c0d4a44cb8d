"""The values every screening rule shares: the draft it reads, the flag it raises, the rule's shape.

A rule only reads and reports (policy §6.3, §6.5, §6.6, Appendix A); what a flag means for
the item (who may approve it) is decided elsewhere.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from intake.config import Settings

SEVERITIES = ("info", "warn", "high")
EXCERPT = 120  # characters of context kept around what triggered a flag


@dataclass(frozen=True)
class Draft:
    """What screening reads of a submission: its words, how many pictures it carries, and its date."""

    subject: str
    text: str
    pictures: int = 0
    received: date | None = None

    @property
    def words(self) -> str:
        """Subject and text as one string, the subject a paragraph of its own."""
        return f"{self.subject}\n\n{self.text}" if self.subject else self.text


@dataclass(frozen=True)
class Flag:
    """One thing a reviewer should look at: which rule, which policy section, how serious, and where."""

    rule: str
    section: str
    severity: str
    excerpt: str

    def as_dict(self) -> dict[str, str]:
        """The stored and printed shape (interface.md): rule, section, severity, excerpt."""
        return {"rule": self.rule, "section": self.section, "severity": self.severity, "excerpt": self.excerpt}


class Rule(Protocol):
    """A screening rule module: id, policy section, default severity, one-line description, and check."""

    ID: str
    SECTION: str
    SEVERITY: str
    DESCRIPTION: str

    def check(self, draft: Draft, config: Settings) -> list[Flag]:
        """The flags this rule raises on the draft; [] when it has nothing to say."""
        ...


def around(text: str, start: int, end: int, width: int = EXCERPT) -> str:
    """The words around text[start:end] in its paragraph, on one line, with an ellipsis where cut."""
    pad = max(0, (width - (end - start)) // 2)
    first, last = text.rfind("\n\n", 0, start) + 2, text.find("\n\n", end)  # within its paragraph
    lo = max(0, start - pad, first if first > 1 else 0)
    hi = min(len(text), end + pad, last if last >= 0 else len(text))
    snippet = " ".join(text[lo:hi].split())
    cut_before, cut_after = lo > max(first, 0) if first > 1 else lo > 0, hi < (last if last >= 0 else len(text))
    return f"{'…' if cut_before else ''}{snippet}{'…' if cut_after else ''}"


@functools.lru_cache(maxsize=64)
def words_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """A case-insensitive whole-word pattern for any of *words* (spacing inside a phrase loose); None if none.

    Kept for the next draft: each rule asks for its list (its own words and the council's) at every draft.
    """
    parts = [r"\s+".join(re.escape(part) for part in word.split()) for word in words if word.strip()]
    if not parts:
        return None
    return re.compile(r"(?<![\w])(?:" + "|".join(sorted(parts, key=len, reverse=True)) + r")(?![\w])", re.IGNORECASE)


def extra_words(config: Settings, rule: str) -> tuple[str, ...]:
    """The council's own additions to a rule's words ([screening] words)."""
    return config.screening.words_for(rule)
