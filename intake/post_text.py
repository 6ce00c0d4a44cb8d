"""The proposed post apart from the covering note: what a drafter wants posted, and what they wrote to us.

A drafter usually writes to SMAT ("Dear SMAT, here is a post for Saturday … Best wishes,
Anne") around the words they want posted. Reviewers need both, and the person who posts
needs only the post. Pure and keyword-based, in this order: text after a marker such as
"Draft post:"; else the longest quoted passage; else the body without its greeting and
sign-off. A reviewer who disagrees corrects it with EDIT, after which the text is the post.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Found(StrEnum):
    """How the proposed post was found in the text."""

    MARKED = "marked"  # after "Draft post:" or the like
    QUOTED = "quoted"  # the longest passage in quotation marks
    BODY = "body"  # the body without greeting and sign-off
    EDITED = "edited"  # a reviewer's EDIT: the whole text is the post


@dataclass(frozen=True)
class PostText:
    """The covering note (what was written to us around the post; may be "") and the proposed post."""

    covering_note: str
    post: str
    found: Found


# "Draft post:", "Proposed post for Facebook:", "Here is my suggested wording:", "Post text:".
_MARKER = re.compile(
    r"^[ \t>]*(?:here(?:'s| is) (?:a |the |my |our )?)?"
    r"(?:(?:draft|proposed|suggested)\s+(?:post|wording|text|tweet)|post\s+text|text\s+for\s+the\s+post|wording)"
    r"\b[^:\n]{0,60}:[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_QUOTED = re.compile(r"“([^“”]+)”|\"([^\"]+)\"", re.DOTALL)
_GREETING = re.compile(
    r"^(?:dear|hi|hello|hey|hiya|good (?:morning|afternoon|evening)|to whom it may concern|morning|afternoon)\b",
    re.IGNORECASE,
)
_SIGN_OFFS = frozenset(
    {
        "thanks",
        "thank you",
        "many thanks",
        "thanks again",
        "thanks in advance",
        "many thanks in advance",
        "with thanks",
        "with many thanks",
        "thanks so much",
        "best",
        "best wishes",
        "all the best",
        "kind regards",
        "kindest regards",
        "regards",
        "best regards",
        "warm regards",
        "warmest regards",
        "cheers",
        "yours",
        "yours sincerely",
        "yours faithfully",
        "sincerely",
        "speak soon",
        "take care",
    }
)
_MIN_QUOTE_WORDS = 6  # shorter quotations are a phrase in the note ("the school said it was 'fine'")


def split(text: str, *, edited: bool = False) -> PostText:
    """The covering note and the proposed post of a draft's text (an edited text is all post)."""
    text = text.strip()
    if edited or not text:
        return PostText("", text, Found.EDITED if edited else Found.BODY)
    if marked := _after_marker(text):
        return marked
    if quoted := _longest_quote(text):
        return quoted
    return _body(text)


def _after_marker(text: str) -> PostText | None:
    """The text after "Draft post:" up to the sign-off, unquoted; None without a marker or text after it."""
    match = _MARKER.search(text)
    if match is None:
        return None
    rest = text[match.end() :]
    lines = rest.splitlines()
    end = _sign_off_at(lines)
    post = _unquote("\n".join(lines[:end]).strip())
    if not post:
        return None
    note = "\n".join([text[: match.start()].rstrip(), *lines[end:]]).strip()
    return PostText(_tidy(note), post, Found.MARKED)


def _longest_quote(text: str) -> PostText | None:
    """The longest passage in quotation marks that reads like a post; None if there is none."""
    best: re.Match[str] | None = None
    for match in _QUOTED.finditer(text):
        words = len((match.group(1) or match.group(2)).split())
        if words >= _MIN_QUOTE_WORDS and (best is None or words > len((best.group(1) or best.group(2)).split())):
            best = match
    if best is None:
        return None
    post = (best.group(1) or best.group(2)).strip()
    note = (text[: best.start()].rstrip() + "\n" + text[best.end() :].lstrip(" \t:.")).strip()
    return PostText(_tidy(note), post, Found.QUOTED)


def _body(text: str) -> PostText:
    """The body without its greeting line and its sign-off (and the signature under it)."""
    lines = text.splitlines()
    start = 0
    first = lines[0].strip()
    if _GREETING.match(first) and len(first) <= 60 and (first.endswith(",") or len(first.split()) <= 4):
        start = 1
    end = _sign_off_at(lines, start)
    post = "\n".join(lines[start:end]).strip()
    if not post:  # nothing but a greeting and a sign-off: show it all rather than nothing
        return PostText("", text, Found.BODY)
    note = "\n".join([*lines[:start], *lines[end:]]).strip()
    return PostText(_tidy(note), post, Found.BODY)


def _sign_off_at(lines: list[str], start: int = 0) -> int:
    """The index of the sign-off line ("Best wishes," then a name, or "--"), else len(lines)."""
    for at in range(start, len(lines)):
        line = lines[at].strip()
        if line in ("--", "-- ", "—"):
            return at
        words = line.rstrip(",.!").strip().lower()
        if words not in _SIGN_OFFS:
            continue
        more = [rest for rest in lines[at + 1 :] if rest.strip()]
        # "Thank you!" closing a post is part of it; "Thanks," or "Thanks" above a name closes the email.
        if line.endswith(",") or (more and len(more) <= 4):
            return at
    return len(lines)


def _unquote(post: str) -> str:
    """The post without the quotation marks around the whole of it."""
    for left, right in (("“", "”"), ('"', '"'), ("'", "'"), ("‘", "’")):
        inner = post[1:-1]
        if post.startswith(left) and post.endswith(right) and left not in inner and right not in inner:
            return inner.strip()
    return post


def _tidy(note: str) -> str:
    """The covering note without runs of blank lines."""
    return re.sub(r"\n\s*\n(\s*\n)+", "\n\n", note).strip()
