"""Offensive, obscene or discriminatory language (policy §6.5): high, so the Clerk decides.

The word list is glin-profanity's English dictionary (maintained, whole words only, so
Scunthorpe, Penistone and Cockburn Street pass), which also reads through case, s p a c i n g
and letter substitutions (sh1t, b@stard). The council's own words ([screening] words.offensive)
are matched as whole words, case aside.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from intake.screening.base import Draft, Flag, around, extra_words, words_pattern
from intake.screening.profanity_filter import english_filter

if TYPE_CHECKING:
    from intake.config import Settings

ID, SECTION, SEVERITY = "offensive", "6.5", "high"
DESCRIPTION = "offensive, obscene or discriminatory words (a maintained list plus the council's own)"


def check(draft: Draft, config: Settings) -> list[Flag]:
    """One flag naming the words found, with the place of the first."""
    text = draft.words
    profanity = english_filter()
    # is_profane stops at the first view with no candidate: clean text (most drafts) in 60 % of the time
    found = [str(w) for w in profanity.check_profanity(text)["profane_words"]] if profanity.is_profane(text) else []
    own = words_pattern(extra_words(config, ID))
    match = own.search(text) if own else None
    if match:
        found.append(match.group())
    if not found:
        return []
    first = match.span() if match and not found[:-1] else _locate(text, found[0])
    words = ", ".join(dict.fromkeys(w.lower() for w in found))
    return [Flag(ID, SECTION, SEVERITY, f"{words}: {around(text, *first)}")]


def _locate(text: str, word: str) -> tuple[int, int]:
    """Where a reported word is in the text (case aside), else the start."""
    at = text.lower().find(word.lower())
    return (at, at + len(word)) if at >= 0 else (0, min(len(text), len(word)))
