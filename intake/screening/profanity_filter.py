"""glin-profanity's English filter, with the one search it makes on every draft made quick.

Before any word-by-word work the library asks, of each view of a draft (as written, normalised,
de-leetspeaked...), whether any of its 135 dictionary entries that are not plain words ("a$$",
"blow job") could be there: one regex of 135 alternatives, each wrapped in its own `(?ai:...)`.
Python's `re` cannot look ahead for the first letters of such a pattern, so it tried every
alternative at every character: about 1 ms of a short draft's 10 ms of intake, and 18 ms of a
3,000-character one. The library lowercases what it searches, and its words are lowercase, so
the same words under one ASCII word boundary, without the case flags, find exactly the same
matches (tests/test_profanity_filter.py runs both on the dictionary in every context) in a
twentieth of the time. If a release builds its search differently, the filter is left as it is.
"""

from __future__ import annotations

import re
from typing import Any

LANGUAGES = ["english"]


def english_filter() -> Any:
    """The library's pooled English filter (built once a process), its candidate search replaced by the quick one."""
    from glin_profanity import get_pooled_filter  # ~40 ms to import: only when a draft is screened

    profanity = get_pooled_filter({"languages": LANGUAGES})
    scanner = getattr(profanity, "_scanner", None)
    quick = quick_candidates(scanner)
    if quick is not None:
        scanner._rest_any = quick  # type: ignore[union-attr]
    return profanity


def quick_candidates(scanner: Any) -> re.Pattern[str] | None:
    """The scanner's candidate regex under one boundary and without case flags; None where that is not the same search.

    The same only when: the scanner lowercases what it searches, every entry is lowercase, and its regex is
    exactly each entry between ASCII word boundaries, with ASCII case folding, in turn.
    """
    words, pattern, config = (getattr(scanner, name, None) for name in ("_rest", "_rest_any", "_cfg"))
    if not words or not isinstance(pattern, re.Pattern) or getattr(config, "case_sensitive", True):
        return None
    if not pattern.pattern.startswith(r"(?a:\b)(?ai:"):
        return None  # already quick (the filter is pooled: this runs for every draft), or built some other way
    plain = [rf"(?a:\b)(?ai:{re.escape(word)})(?a:\b)" for word in words]
    if any(word != word.lower() for word in words) or pattern.pattern != "|".join(plain):
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(word) for word in words) + r")\b", re.ASCII)
