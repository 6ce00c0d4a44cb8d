"""Controversial or party-political content (policy §6.5, §8): parties, candidates, "vote for", campaigns.

Councils must not publish party-political material in the pre-election period (the Code of
Recommended Practice on Local Authority Publicity), so a draft that names any of these on a
day inside a configured [screening] pre_election period is high; at other times, warn.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from intake.screening.base import Draft, Flag, around, extra_words, words_pattern

if TYPE_CHECKING:
    from intake.config import Settings

ID, SECTION, SEVERITY = "political", "6.5, 8", "warn"
DESCRIPTION = "parties, candidates, 'vote for', campaigns; high in a pre-election period"

# Party names as written (capitalised), so "labour costs" and "green spaces" pass.
_PARTIES = re.compile(
    r"\b(?:Labour(?:\s+Party)?|Conservatives?(?:\s+Party)?|Tory|Tories|Liberal\s+Democrats?|Lib\s*Dems?|"
    r"Green\s+Party|Greens|Reform\s+UK|UKIP|SNP|Plaid\s+Cymru|Independent\s+candidate)\b"
)
_PHRASES = re.compile(
    r"\b(?:vote\s+(?:for|against|labour|conservative|green|reform|lib\s*dem)|(?:re-?)?elect\s+me|re-?elect\s+\w+|"
    r"candidates?\b|hustings|manifesto|canvass(?:ing|ers?)?|polling\s+day|party\s+political|"
    r"(?:campaign|petition|protest|march)\s+(?:against|to\s+(?:stop|save|oppose|block|scrap))|"
    r"sign\s+(?:our|the)\s+petition|campaigners?|political\s+party)\b",
    re.IGNORECASE,
)


def check(draft: Draft, config: Settings) -> list[Flag]:
    """One flag at the first political mention; high inside a pre-election period."""
    text = draft.words
    own = words_pattern(extra_words(config, ID))
    hits = [m for m in (_PARTIES.search(text), _PHRASES.search(text), own.search(text) if own else None) if m]
    if not hits:
        return []
    first = min(hits, key=lambda m: m.start())
    if config.screening.in_pre_election(draft.received):
        excerpt = f"pre-election period: no party-political material may be published: {around(text, *first.span())}"
        return [Flag(ID, SECTION, "high", excerpt)]
    return [Flag(ID, SECTION, SEVERITY, around(text, *first.span()))]
