"""Small rules of wording our mail shares: a subject without the prefixes mail clients and senders add.

Registered as Jinja filters by the composer, so every template words these the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markupsafe import Markup, escape

# "Re:", "FW:", "Fwd:", "AW:" (German), "TR:" (French) and the kind words a sender starts a subject with.
_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|tr|sv|vs|draft(?: post)?|report(?:ing)?|question|enquiry|inquiry)"
    r"\s*[:\-\u2013\u2014]\s*)+",
    re.IGNORECASE,
)


def bare_subject(subject: str | None, empty: str = "(no subject)") -> str:
    """The sender's subject without "Re:", "FW:" or "Report:" in front: never "Report received: Report: …"."""
    bare = _PREFIX.sub("", subject or "").strip()
    return bare or (subject or "").strip() or empty


def paragraphs(text: str | None, style: str = "margin: 0 0 0.8em;") -> Markup:
    """Plain text as HTML paragraphs with <br> at line ends, escaped: no `white-space: pre-wrap` (Outlook)."""
    blocks = [b for b in re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n").strip()) if b.strip()]
    out = [
        Markup('<p style="{}">{}</p>').format(
            style if n < len(blocks) else "margin: 0;",  # no gap under the last, inside a box
            Markup("<br>\n").join(escape(line) for line in b.split("\n")),
        )
        for n, b in enumerate(blocks, 1)
    ]
    return Markup("\n").join(out)


_YES = re.compile(r"^\s*(?:yes|yep|ok|okay|fine|looks (?:good|fine|great)|good to go|go ahead|lovely|great)\b", re.I)
_NO = re.compile(r"^\s*(?:no|nope|not (?:suitable|appropriate)|don'?t post|do not post)\b", re.IGNORECASE)


def likely_command(text: str, available: Sequence[str]) -> str:
    """The command an unrecognised reply probably meant (a question → QUERY), if the reader may use it; else ""."""
    words = " ".join(text.split())
    guesses = []
    if "?" in words:
        guesses.append("QUERY")
    if _YES.match(words):
        guesses.append("APPROVE")
    if _NO.match(words):
        guesses.append("REJECT")
    return next((name for name in guesses if name in available), "")
