"""The facts of one digest period as plain values: what the store gathers (intake.store.digest) and
`intake.digest.build_digest` turns into words. Pure data, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ItemLine:
    """An item as the digest names it."""

    ref: str
    kind: str
    status: str
    subject: str
    sender: str
    received_at: datetime
    assignee: str = ""  # an open report: whom it was last assigned to (ASSIGN), if anyone


@dataclass(frozen=True)
class DecisionLine:
    """One command recorded in the period, accepted or refused."""

    ref: str
    subject: str
    by: str
    at: datetime
    command: str
    argument: str
    accepted: bool
    reason: str  # why it was refused
    new_status: str | None


@dataclass(frozen=True)
class FlagLine:
    """A high-severity policy flag on an item that is open or arrived in the period."""

    ref: str
    subject: str
    rule: str
    section: str
    excerpt: str


@dataclass(frozen=True)
class QuarantineLine:
    """A message quarantined in the period, and why."""

    ref: str
    sender: str
    subject: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class MailLine:
    """Mail that could not be delivered, or has waited too long to go."""

    ref: str  # "" for mail about no item
    purpose: str
    recipients: tuple[str, ...]
    status: str  # failed | pending | sending
    error: str
    created_at: datetime
    attempts: int


@dataclass(frozen=True)
class HeldLine:
    """An acknowledgement held back by the backscatter cap ([intake] acknowledgements_per_hour)."""

    ref: str
    sender: str
    at: datetime


@dataclass(frozen=True)
class RosterLine:
    """A roster change the Deputy Clerk made that the Clerk has not yet confirmed."""

    name: str
    email: str
    added: bool  # else removed
    by: str


@dataclass(frozen=True)
class MailboxLine:
    """Something the mailbox's server did that the Clerk should know of (intake.store.mailbox notes)."""

    folder: str
    kind: str  # renumbered
    detail: str
    at: datetime


@dataclass(frozen=True)
class Counts:
    """Every message received in the period, by what became of it."""

    received: int = 0
    new_items: int = 0
    replies: int = 0
    automatic: int = 0  # auto-replies, bounces, lists, our own mail come back: never answered
    quarantined: int = 0
    repeats: int = 0  # a sender's draft again, folded into the earlier item

    @property
    def accounted(self) -> int:
        """How many of the received messages the categories account for."""
        return self.new_items + self.replies + self.automatic + self.quarantined + self.repeats


@dataclass(frozen=True)
class DigestFacts:
    """What the store found for one period; times are aware UTC datetimes."""

    start: datetime
    end: datetime
    counts: Counts
    new_items: tuple[ItemLine, ...] = ()
    pending: tuple[ItemLine, ...] = ()  # awaiting a decision, any age
    decisions: tuple[DecisionLine, ...] = ()
    flags: tuple[FlagLine, ...] = ()
    quarantined: tuple[QuarantineLine, ...] = ()
    still_quarantined: int = 0  # items in quarantine now, whenever they came
    mail: tuple[MailLine, ...] = ()
    held: tuple[HeldLine, ...] = ()
    roster_review: tuple[RosterLine, ...] = ()  # roster changes the Deputy made, waiting for the Clerk's review
    mailbox: tuple[MailboxLine, ...] = ()
