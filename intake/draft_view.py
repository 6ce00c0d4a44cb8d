"""How our mail shows a draft: the covering note apart from the proposed post, and the policy checklist.

One function, so the review request (first sent, or sent again after an EDIT) and the
ready-to-post mail read a draft the same way. Pure.
"""

from __future__ import annotations

from typing import Any

from intake import policy_checklist
from intake.post_text import split
from intake.shown_text import cut


def draft_view(text: str, revision: int, pictures: int, *, for_poster: bool = False) -> dict[str, Any]:
    """Template values for a draft: `post` (covering_note, post, found), `checklist` (lines, touched first) and
    `left_out` (how many characters of a very long email are not shown, as text; "" when none)."""
    text, left_out = cut(text)  # a very long email: the part our mail shows (the checklist took 4.5 s on 30 MB)
    parts = split(text, edited=(revision or 1) > 1)  # after an EDIT the text is the post a reviewer wrote
    return {
        "post": parts,
        "checklist": policy_checklist.check(text, pictures, post=parts.post, for_poster=for_poster),
        "for_poster": for_poster,
        "left_out": f"{left_out:,}" if left_out else "",  # characters of the email not shown in our mail
    }
