"""How much of a draft's text our mail shows: all of it up to a limit, then a line saying the rest is kept.

A post is a few hundred characters; a 30 MB body rendered whole into three HTML review requests
took 14 s and made mails a relay would refuse as too big, so the reviewers might never hear of
the draft. The whole message stays in the database (`smat-intake show REF` prints it). Pure.
"""

from __future__ import annotations

SHOWN_CHARS = 100_000  # of a draft's text, shown in our mail (and screened: pipeline.SCREENED_CHARS)


def cut(text: str, limit: int = SHOWN_CHARS) -> tuple[str, int]:
    """`text` whole if within `limit` characters, else cut at the last line break before the limit (or
    at the limit, when that would lose more than half); with how many characters were left out."""
    if len(text) <= limit:
        return text, 0
    at = text.rfind("\n", 0, limit)
    kept = text[: at if at > limit // 2 else limit].rstrip()
    return kept, len(text) - len(kept)


def shown(text: str, ref: str | None, limit: int = SHOWN_CHARS) -> str:
    """The text as our mail shows it: `cut`, and when something was left out, a line saying so."""
    kept, left_out = cut(text, limit)
    if not left_out:
        return kept
    under = f" with {ref}" if ref else ""
    return (
        f"{kept}\n\n[The rest of this email, {left_out:,} more characters, is not shown here. "
        f"The whole message is kept{under}.]"
    )
