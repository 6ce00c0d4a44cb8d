"""The council's standard responses to common enquiries (policy §6.4): parsing the library, and suggesting.

Each response is one file, `templates/responses/<key>.txt`, in a tiny format a clerk can edit:

    title: Bins, recycling and street cleaning
    keywords: bin, bins, rubbish, recycling, fly-tipping, bulky waste
    ---
    The body, as plain text; paragraphs separated by a blank line.

Pure: `parse` reads one file's text, `suggest` scores an enquiry's words against the keywords
(a keyword of several words counts double, as it says more), so that the review request can
offer the best-matching responses with the exact `RESPOND key` line. `default` is always
offered last: it advises contacting the council by telephone, email or in person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from intake.errors import IntakeError

DEFAULT = "default"  # the response when none fits (§6.4)
SUGGESTED = 3  # at most this many matching responses are offered, before the default
_KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_WORD = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*")


class ResponseError(IntakeError):
    """A response file that cannot be read: names the file and what is wrong."""


@dataclass(frozen=True)
class Response:
    """One standard response: its key (the file's name), title, keywords and body."""

    key: str
    title: str
    keywords: tuple[str, ...]
    body: str

    @property
    def paragraphs(self) -> tuple[str, ...]:
        """The body's paragraphs, each on one line (for HTML)."""
        return tuple(" ".join(p.split()) for p in re.split(r"\n\s*\n", self.body.strip()) if p.strip())


def parse(key: str, text: str) -> Response:
    """One response file's text -> a Response; ResponseError naming the file if it is malformed."""
    where = f"templates/responses/{key}.txt"
    if not _KEY.match(key):
        raise ResponseError(f"{where}: the file name must be lower-case letters, digits and hyphens")
    head, sep, body = text.replace("\r\n", "\n").partition("\n---\n")
    if not sep:
        raise ResponseError(f"{where}: a line '---' must separate the title and keywords from the body")
    fields: dict[str, str] = {}
    for number, line in enumerate(head.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if not colon or name not in ("title", "keywords"):
            raise ResponseError(f"{where}: line {number} should be 'title: …' or 'keywords: …'")
        fields[name] = value.strip()
    if not fields.get("title"):
        raise ResponseError(f"{where}: the title is missing")
    if not body.strip():
        raise ResponseError(f"{where}: the body is empty")
    keywords = tuple(dict.fromkeys(k.strip().lower() for k in fields.get("keywords", "").split(",") if k.strip()))
    if not keywords and key != DEFAULT:
        raise ResponseError(f"{where}: keywords are needed, so that the response can be suggested")
    return Response(key, fields["title"], keywords, body.strip() + "\n")


def library(texts: Mapping[str, str]) -> dict[str, Response]:
    """Every response from {key: file text}, in key order; a library without `default` is refused."""
    found = {key: parse(key, texts[key]) for key in sorted(texts)}
    if DEFAULT not in found:
        raise ResponseError("templates/responses/default.txt is missing: it is the response when none fits (§6.4)")
    return found


def _words(text: str) -> list[str]:
    """Lower-case words with a plural 's' dropped, so 'bins' meets 'bin' and 'potholes' 'pothole'."""
    return [_stem(w) for w in _WORD.findall(text.lower().replace("’", "'"))]


def _stem(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def score(response: Response, text: str) -> int:
    """How well an enquiry's words match a response: 1 for each keyword found, 2 for each phrase."""
    words = _words(text)
    joined = f" {' '.join(words)} "
    total = 0
    for keyword in response.keywords:
        parts = _words(keyword)
        if not parts:
            continue
        if len(parts) == 1:
            total += parts[0] in words
        else:
            total += 2 * (f" {' '.join(parts)} " in joined)
    return total


def suggest(responses: Iterable[Response], text: str, limit: int = SUGGESTED) -> tuple[Response, ...]:
    """The best-matching responses, best first (ties by key), then `default`; only those that match at all."""
    pool = list(responses)
    scored = sorted(((score(r, text), r.key, r) for r in pool if r.key != DEFAULT), key=lambda s: (-s[0], s[1]))
    best = tuple(r for points, _, r in scored if points > 0)[:limit]
    fallback = tuple(r for r in pool if r.key == DEFAULT)
    return best + fallback
