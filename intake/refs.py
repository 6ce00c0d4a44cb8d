"""Item references (SMAT-2026-0042) and the tag that carries one in a subject."""

from __future__ import annotations

import re

PREFIX = "SMAT"
_TAG = re.compile(r"\[(SMAT-(\d{4})-(\d{4,}))\]", re.IGNORECASE)


def format_ref(year: int, number: int) -> str:
    """The ref for the n-th item of a year, zero-padded to four digits."""
    return f"{PREFIX}-{year:04d}-{number:04d}"


def ref_in_subject(subject: str) -> str | None:
    """The ref in a subject tag such as "Re: [SMAT-2026-0042] …", upper-cased; None if there is none."""
    match = _TAG.search(subject)
    return match[1].upper() if match else None


def tag_subject(ref: str, subject: str) -> str:
    """Put "[ref] " in front of a subject unless it already carries that tag."""
    if f"[{ref}]".lower() in subject.lower():
        return subject
    return f"[{ref}] {subject}".strip()
