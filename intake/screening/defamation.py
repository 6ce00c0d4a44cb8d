"""Possible defamation (policy Appendix A, §6.5): a named person or organisation beside an accusation.

"Posts should never be made which cast doubt upon the reputation of an individual or
organisation" unless the council has evidence, so the Clerk decides: high. A name is a
title and a capitalised word (Cllr Smith, Mr Jones), two or more capitalised words that do not
start a sentence, or a company (Acme Builders Ltd); the accusation must be in the same
sentence. Crime-prevention wording ("report criminal damage to Bedfordshire Police") passes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from intake.screening.base import Draft, Flag, around, extra_words, words_pattern

if TYPE_CHECKING:
    from intake.config import Settings

ID, SECTION, SEVERITY = "defamation", "Appendix A", "high"
DESCRIPTION = "a named person or organisation together with an accusation (fraud, liar, corrupt, stole, …)"

_ACCUSATIONS = (
    "fraud",
    "fraudster",
    "fraudulent",
    "fraudulently",
    "liar",
    "liars",
    "lied",
    "lies",
    "lying to",
    "corrupt",
    "corruption",
    "stole",
    "stolen from",
    "steals",
    "stealing",
    "thief",
    "thieves",
    "criminal",
    "crook",
    "crooked",
    "crooks",
    "embezzled",
    "embezzling",
    "embezzlement",
    "bribe",
    "bribes",
    "bribed",
    "bribery",
    "backhander",
    "backhanders",
    "on the take",
    "cheated",
    "cheats",
    "scam",
    "scammer",
    "scammers",
    "con man",
    "conman",
    "swindled",
    "swindler",
    "dishonest",
    "cowboy",
    "cowboys",
    "racist",
    "paedophile",
    "abuser",
    "fiddled",
    "fiddling the",
    "pocketed",
    "rigged",
    "cover-up",
    "covered up",
)
_NOT_ACCUSATIONS = re.compile(
    r"criminal\s+damage|criminal\s+record\s+check|action\s+fraud|fraud\s+(?:awareness|prevention)|"
    r"scam\s+(?:awareness|alert|warning)|beware\s+of|be\s+aware\s+of|report\s+(?:it|any|all|suspicious)|lies\s+(?:in|on|at|within|behind)",
    re.IGNORECASE,
)
# A title names someone however it is typed: "councillor davies" as well as "Cllr Davies".
_TITLE = r"(?i:cllr|councillor|mayor|mr|mrs|ms|miss|dr|sir|dame|lord|lady|rev|revd|father|pc|sgt)\.?"
_NAME = re.compile(
    r"\b" + _TITLE + r"\s+[A-Za-z][A-Za-z'-]+(?:\s+[A-Z][A-Za-z'-]+)?"
    r"|(?<![.!?]\s)(?<!^)\b[A-Z][a-z'-]+(?:\s+[A-Z][A-Za-z'&-]+)+"
    r"|\b[A-Z][A-Za-z&'-]+(?:\s+[A-Z][A-Za-z&'-]+)*\s+(?:Ltd|Limited|plc|PLC|LLP|Builders|Contractors|Services)\b",
    re.MULTILINE,
)
# Names that are safe to sit beside crime words: those who fight it, and the council itself.
_SAFE_NAMES = re.compile(r"Police|Crimestoppers|Action Fraud|Trading Standards|Citizens Advice|Neighbourhood Watch")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def check(draft: Draft, config: Settings) -> list[Flag]:
    """One flag for the first sentence that names someone and accuses them."""
    accusations = words_pattern((*_ACCUSATIONS, *extra_words(config, ID)))
    assert accusations is not None
    text = draft.words
    for sentence in _SENTENCE.finditer(text):
        words = sentence.group()
        accused = accusations.search(words)
        if not accused or _NOT_ACCUSATIONS.search(words):
            continue
        names = [n for n in _NAME.finditer(words) if not _SAFE_NAMES.search(n.group())]
        if names:
            start = sentence.start()
            excerpt = f"{names[0].group()} / {accused.group()}: {around(text, start, sentence.end(), 200)}"
            return [Flag(ID, SECTION, SEVERITY, excerpt)]
    return []
