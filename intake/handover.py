"""An approved draft handed over for posting: the post itself, the accounts meant, and who posts it.

Every member gets the ready-to-post mail, so a post could go out twice: one person is named
to post it (the approver, unless their note names another member: "Sam to post"), and the
others are told it is in hand. The accounts are those the approver's note names, else those
the drafter's email names. Pure: plain values in, plain values out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from intake.notices import Addressee
from intake.post_text import split
from intake.vocab import Role

# The platforms a council posts on, as people write them; "X" only as a capital on its own.
_PLATFORMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Facebook", re.compile(r"\bfacebook\b|\bfb\b", re.IGNORECASE)),
    ("X (Twitter)", re.compile(r"(?<![\w'’-])X(?![\w'’-])|\btwitter\b|\btweet", re.IGNORECASE)),
    ("Instagram", re.compile(r"\binstagram\b|\binsta\b", re.IGNORECASE)),
    ("Nextdoor", re.compile(r"\bnext ?door\b", re.IGNORECASE)),
    ("LinkedIn", re.compile(r"\blinked ?in\b", re.IGNORECASE)),
    ("YouTube", re.compile(r"\byou ?tube\b", re.IGNORECASE)),
    ("TikTok", re.compile(r"\btik ?tok\b", re.IGNORECASE)),
    ("Threads", re.compile(r"\bthreads\b", re.IGNORECASE)),
    ("Bluesky", re.compile(r"\bblue ?sky\b", re.IGNORECASE)),
    ("WhatsApp", re.compile(r"\bwhats ?app\b", re.IGNORECASE)),
)
_ROLE_WORDS = {Role.DEPUTY_CLERK: re.compile(r"\bdeputy\b", re.IGNORECASE)}
_POSTING = re.compile(r"\bpost", re.IGNORECASE)
_CLERK = re.compile(r"(?<!deputy )(?<!deputy town )\b(?:town )?clerk\b", re.IGNORECASE)


@dataclass(frozen=True)
class Handover:
    """What the ready-to-post mail says: the post, the accounts, the approver's note and who posts it."""

    post: str
    accounts: tuple[str, ...]  # () : nobody said which
    note: str
    poster: Addressee
    named_by_approver: bool  # the approver's note named someone else to post it


def accounts_named(text: str) -> tuple[str, ...]:
    """The platforms a text names, in the usual order ("Good to go on Facebook and X." → Facebook, X)."""
    # "X" in a quotation or a name ("Malcolm X") is rare in a note; in a post it is not ours to read.
    return tuple(name for name, pattern in _PLATFORMS if pattern.search(text))


def poster_named(note: str, approver: Addressee, reviewers: Sequence[Addressee]) -> Addressee | None:
    """The other member the approver's note names to post it (by name, first name, address or role), if any."""
    if not _POSTING.search(note):  # "Thanks Sam for spotting it" names Sam but asks nothing of them
        return None
    others = [r for r in reviewers if r.email.lower() != approver.email.lower()]
    for person in others:
        if person.email.lower() in note.lower() or (person.name and _has(note, person.name)):
            return person
    firsts: dict[str, list[Addressee]] = {}
    for person in others:
        first = person.name.split()[0] if person.name.split() else ""
        if first.lower() not in ("town", "deputy", "the", "cllr", "mr", "mrs", "ms", "dr", ""):
            firsts.setdefault(first.lower(), []).append(person)
    for first, people in firsts.items():
        if len(people) == 1 and _has(note, first):
            return people[0]
    for role, pattern in _ROLE_WORDS.items():
        if pattern.search(note):
            return next((p for p in others if p.role == role), None)
    if _CLERK.search(note):
        return next((p for p in others if p.role == Role.CLERK), None)
    return None


def handover(text: str, edited: bool, note: str, approver: Addressee, reviewers: Sequence[Addressee]) -> Handover:
    """The handover of an approved draft: its post (not the covering email), accounts and poster."""
    parts = split(text, edited=edited)
    accounts = accounts_named(note) or accounts_named(parts.covering_note)
    named = poster_named(note, approver, reviewers)
    return Handover(parts.post, accounts, note.strip(), named or approver, named is not None)


def _has(text: str, words: str) -> bool:
    """Whether the text holds these words whole, in any case."""
    return re.search(r"(?<![\w-])" + re.escape(words) + r"(?![\w-])", text, re.IGNORECASE) is not None
