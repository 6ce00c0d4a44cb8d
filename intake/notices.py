"""Who hears of a ruling: the kinds of notice, their audiences, and the conditions for writing to each.

A ruling asks for notices by kind (`Tell`); `notices` turns each into mail to real people,
given the facts about who replied and the desk. Pure: no database, no mail. A command that
sends a new kind of mail declares a new `Tell` in its own module, with its template.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from intake.vocab import Purpose, Role

if TYPE_CHECKING:
    from intake.decisions import Actor, ItemState, Ruling


class Thread(StrEnum):
    """What a notice is threaded under."""

    REPLY = "reply"  # the reply that caused it (help: an answer to that message)
    LAST = "last"  # our newest mail to this person about the item
    LAST_OR_FIRST = "last-or-first"  # that, or else the message the item came in by (the drafter's own)


class Audience(StrEnum):
    """Who a notice goes to, each with the conditions for writing to them."""

    ACTOR = "actor"  # who sent the reply, if we know them, it is not us, and not told the same today
    DRAFTER = "drafter"  # the item's sender, if we can write to them
    DRAFTER_NOT_ACTOR = "drafter-not-actor"  # the same, unless they sent the reply themselves
    ASSIGNEE = "assignee"  # the roster member a report was assigned to (ASSIGN)
    REVIEWERS = "reviewers"  # every active SMAT member
    OTHER_REVIEWERS = "other-reviewers"  # every one but who sent the reply


@dataclass(frozen=True)
class Tell:
    """A kind of notice a ruling asks for: which template, to whom, and why; a new one needs only a template."""

    template: str  # the folder in templates/
    purpose: Purpose
    audience: Audience
    reason: str
    thread: Thread = Thread.LAST
    pictures: bool = False  # the item's pictures go with it


class Effect:
    """The notices the rules ask for today (the names the commands use)."""

    HELP = Tell(
        "help", Purpose.HELP, Audience.ACTOR, "the commands they may use, and why one was refused", Thread.REPLY
    )
    TELL_DRAFTER = Tell(
        "decision-to-drafter",
        Purpose.DECISION,
        Audience.DRAFTER_NOT_ACTOR,
        "the drafter hears of each decision",
        Thread.LAST_OR_FIRST,
    )
    ASK_DRAFTER = Tell(
        "query", Purpose.QUERY, Audience.DRAFTER, "the question is for the drafter", Thread.LAST_OR_FIRST
    )
    TELL_SMAT = Tell(
        "decision-to-smat", Purpose.DECISION, Audience.OTHER_REVIEWERS, "every other SMAT member hears of each decision"
    )
    READY_TO_POST = Tell(
        "ready-to-post", Purpose.READY_TO_POST, Audience.REVIEWERS, "approved: SMAT posts it", pictures=True
    )
    REVIEW_AGAIN = Tell(
        "review-request",
        Purpose.REVIEW_REQUEST,
        Audience.REVIEWERS,
        "the text changed: every reviewer gets it with a new key, and only that key approves it",
        pictures=True,
    )
    # Sorted under "query" (interface.md's purposes): the drafter's words are the other half of SMAT's questions.
    FORWARD_TO_SMAT = Tell("drafter-reply", Purpose.QUERY, Audience.OTHER_REVIEWERS, "the drafter's words go to SMAT")
    CONFIRM_TO_DRAFTER = Tell(
        "decision-to-drafter",
        Purpose.DECISION,
        Audience.DRAFTER,
        "the drafter's own decision (WITHDRAW) is confirmed to them",
        Thread.REPLY,
    )


@dataclass(frozen=True)
class Addressee:
    """Someone a notice may go to."""

    email: str
    name: str = ""
    role: str = Role.PUBLIC


@dataclass(frozen=True)
class Desk:
    """The facts about us the notices depend on: our own address and the active reviewers."""

    address: str
    reviewers: tuple[Addressee, ...] = ()


@dataclass(frozen=True)
class Notice:
    """One mail to send: which template, to whom, and why."""

    template: str  # the folder in templates/
    purpose: Purpose
    to: Addressee
    reason: str
    thread: Thread = Thread.LAST
    pictures: bool = False  # the item's pictures go with it


_ORDER = list(Audience)  # the order notices are queued in: the reply's sender, the drafter, SMAT


def notices(ruling: Ruling, actor: Actor, item: ItemState, desk: Desk) -> tuple[Notice, ...]:
    """Who is told, with which template and why, from the ruling's effects and the facts about them."""
    out: list[Notice] = []
    for tell in sorted(ruling.effects, key=lambda t: (_ORDER.index(t.audience), t.template)):
        out += [
            Notice(tell.template, tell.purpose, to, tell.reason, tell.thread, tell.pictures)
            for to in _audience(tell.audience, ruling, actor, item, desk)
        ]
    return tuple(out)


def _audience(audience: Audience, ruling: Ruling, actor: Actor, item: ItemState, desk: Desk) -> list[Addressee]:
    """The people in an audience we may write to about this reply."""
    if audience == Audience.ACTOR:
        # Only people we know (the roster, the drafter): a stranger's forged From must not turn us
        # into a source of unwanted mail. Told why once: the same refusal again within a day gets no
        # second mail, so an auto-responder that does not mark itself cannot keep a loop going.
        known = actor.on_roster or _is_drafter(actor, item)
        told = not ruling.accepted and ruling.reason in actor.refused_lately
        ours = actor.email.lower() == desk.address.lower()
        ok = known and not told and not ours and actor.email.isascii()
        return [Addressee(actor.email, actor.name, actor.role)] if ok else []
    if audience in (Audience.DRAFTER, Audience.DRAFTER_NOT_ACTOR):
        reachable = bool(item.sender) and item.sender.isascii()  # no SMTPUTF8 assumed (see the pipeline)
        if not reachable or (audience == Audience.DRAFTER_NOT_ACTOR and _is_drafter(actor, item)):
            return []
        return [Addressee(item.sender, item.sender_name)]
    if audience == Audience.ASSIGNEE:
        return [ruling.assignee] if ruling.assignee is not None and ruling.assignee.email.isascii() else []
    if audience == Audience.OTHER_REVIEWERS:  # an assignee on SMAT gets the report itself, not a notice of it too
        skip = {actor.email.lower(), actor.who, ruling.assignee.email.lower() if ruling.assignee else ""}
        return [p for p in desk.reviewers if p.email.lower() not in skip]
    return list(desk.reviewers)


def _is_drafter(actor: Actor, item: ItemState) -> bool:
    """The reply's sender is the item's sender (as `decisions.is_drafter`, which imports this module)."""
    return actor.who == (item.sender_person or item.sender.lower())
