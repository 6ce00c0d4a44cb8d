"""The offensive-words rule's quick candidate search (intake/screening/profanity_filter.py).

It replaces glin-profanity's own search of its multi-word and symbol entries with one that Python's
`re` runs some twenty times faster; these tests hold it to finding exactly what the library's finds.
"""

from __future__ import annotations

import random
import re
from datetime import date
from pathlib import Path

from glin_profanity import Filter, get_pooled_filter
from support import settings_for

from intake.screening import Draft, screen
from intake.screening.profanity_filter import LANGUAGES, english_filter, quick_candidates

NEIGHBOURS = ["", " ", "x", "X", "_", "7", "é", "ß", "İ", "K", "-", "'", "\n", "@", "$", "!", ".", "🖕", "ǅ"]


def _library_search() -> tuple[list[str], re.Pattern[str]]:
    """A filter of its own (not the pooled one), so its search is the library's as built."""
    scanner = Filter({"languages": LANGUAGES})._scanner
    return list(scanner._rest), scanner._rest_any


def test_the_quick_search_finds_exactly_what_the_librarys_finds_with_every_entry_in_every_setting() -> None:
    words, library = _library_search()
    quick = quick_candidates(Filter({"languages": LANGUAGES})._scanner)
    assert quick is not None and library.pattern.startswith(r"(?a:\b)(?ai:")
    rng = random.Random(13)
    texts = [f"{before}{word}{after}" for word in words for before in NEIGHBOURS for after in NEIGHBOURS]
    texts += [f"{a}{word.upper()}{b}" for word in words for a, b in zip(NEIGHBOURS, reversed(NEIGHBOURS), strict=True)]
    letters = "".join(sorted(set("".join(words)))) + "É _-İKé"
    texts += ["".join(rng.choice(letters) for _ in range(rng.randint(1, 60))) for _ in range(3000)]
    texts += [f"the council's notice: {word[: len(word) // 2]} and {word[len(word) // 2 :]}" for word in words]
    found = 0
    for text in texts:
        hay = text.lower()  # as the library searches
        ours, theirs = quick.search(hay), library.search(hay)
        assert (ours and ours.span()) == (theirs and theirs.span()), text
        found += theirs is not None
    assert found > len(words) * 100  # the corpus really holds matches, not only misses


def test_screening_a_draft_uses_the_quick_search_and_still_flags_an_entry_of_two_words(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, f"sqlite:///{tmp_path}/unused.db")
    flags = screen(Draft("Fete", "No ball gag jokes at the fete, please.", 0, date(2026, 6, 15)), settings)
    assert [flag.rule for flag in flags] == ["offensive"]
    search = get_pooled_filter({"languages": LANGUAGES})._scanner._rest_any
    assert not search.flags & re.IGNORECASE and search.pattern.startswith(r"\b(?:")


def test_a_search_built_some_other_way_is_left_as_it_is() -> None:
    assert quick_candidates(Filter({"languages": LANGUAGES, "case_sensitive": True})._scanner) is None
    assert quick_candidates(object()) is None
    pooled = english_filter()
    assert quick_candidates(pooled._scanner) is None  # already quick: made once, not at every draft
