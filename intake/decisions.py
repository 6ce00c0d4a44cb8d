"""Where a reply becomes a decision: who may do what to an item in which state, and every consequence.

Pure rules over plain values (policy §6.3: nothing is posted without the express authority
of the Town Clerk, the Deputy Town Clerk or SMAT). Each command's own rule is in its module
in `intake/commands/`; here are the facts they read (`Actor`, `ItemState`, `Rules`), the
checks they share, and `decide`, which turns a verdict into everything that follows as
data: the change to the item, the history line, and each notice with its recipient (who
hears of what is in `notices.py`).
`decide` never writes anything; the reply step records and queues what it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from intake.notices import Addressee, Desk, Effect, Notice, Tell, notices
from intake.vocab import (
    CLERK_ROLES,
    FINAL,
    OPEN_DRAFT,
    REVIEWER_ROLES,
    SETTLED,
    EventKind,
    Kind,
    MatchedBy,
    Role,
    Status,
)

if TYPE_CHECKING:
    from intake.accounts import RegisteredAccount
    from intake.commands.base import Registry
    from intake.replies import Command


ANSWER, NOTE = "ANSWER", "NOTE"  # the drafter wrote back: an answer to a query, or a note


@dataclass(frozen=True)
class Actor:
    """Who sent the reply, and what we could establish about them."""

    email: str
    name: str = ""
    role: str = Role.PUBLIC  # the active roster role, else "public"; "former" for an inactive member
    on_roster: bool = False  # known to us by the roster (active or not)
    key: str | None = None  # the reply key the reply came back through, if any
    key_holder: str | None = None  # the member a matched reply key was issued to
    key_expired: bool = False
    key_used_for: frozenset[str] = frozenset()  # verbs this key already decided
    key_item_conflict: str = ""  # the ref in the subject when it names another item than the key
    key_revision: int | None = 1  # the revision of the text the key was sent with; None: mail without a key
    matched_by: str = MatchedBy.KEY
    authenticated: bool = False
    authentication_reason: str = ""
    refused_lately: frozenset[str] = frozenset()  # reasons they were refused for on this item in the last day
    person: str = ""  # one name per person (the roster address, else the untagged address); "" : the email
    repeated_headers: tuple[str, ...] = ()  # single-instance headers the message repeats: it decides nothing

    @property
    def who(self) -> str:
        """The person behind the address, for "is this the drafter?" and for counting approvals."""
        return self.person or self.email.lower()

    @property
    def is_reviewer(self) -> bool:
        return self.role in REVIEWER_ROLES

    @property
    def is_clerk(self) -> bool:
        return self.role in CLERK_ROLES


@dataclass(frozen=True)
class ItemState:
    """The item as the rules see it: its decision state, kept in typed columns."""

    ref: str
    kind: str
    status: str
    sender: str
    sender_name: str = ""
    approvals: tuple[str, ...] = ()  # members who approved the current text
    high_flags: bool = False
    decided_by: str = ""  # who settled its present status, and when
    decided_at: datetime | None = None
    status_before_query: str = Status.IN_REVIEW  # where the drafter's answer to a query returns the item
    revision: int = 1  # the version of the text: each EDIT starts a new one, which needs its own approvals
    sender_person: str = ""  # the sender as one name per person (see Actor.person); "": the sender's address


@dataclass(frozen=True)
class Rules:
    """The policy settings and the desk's facts the rules read."""

    approvals_required: int = 1
    require_authenticated_replies: bool = False
    accounts: tuple[RegisteredAccount, ...] = ()  # the register: the accounts POSTED may name
    people: tuple[Addressee, ...] = ()  # the active roster, whom ASSIGN may name
    responses: Mapping[str, str] = field(default_factory=dict)  # standard response key -> title (RESPOND)


@dataclass(frozen=True)
class Ruling:
    """The verdict on one command: accepted or not, why, the new state and who must hear of it."""

    verb: str
    accepted: bool
    reason: str = ""
    new_status: str | None = None
    new_text: str | None = None
    approvals: tuple[str, ...] | None = None  # the approvals of the text from now on; None: unchanged
    returns_to: str | None = None  # a QUERY: the status the drafter's answer returns the item to
    effects: frozenset[Tell] = field(default_factory=frozenset)  # the notices it asks for
    decisive: bool = False  # a decision others must hear of (and that makes a key spent)
    new_kind: str | None = None  # KIND: what the item is from now on
    assignee: Addressee | None = None  # ASSIGN: who is told to deal with it
    facts: Mapping[str, Any] = field(default_factory=dict)  # kept in the history line and given to its mail


@dataclass(frozen=True)
class Change:
    """What the ruling changes in the item's stored state; None (or False) leaves a field as it is."""

    status: str | None = None
    kind: str | None = None
    text: str | None = None
    approvals: tuple[str, ...] | None = None
    decided_by: str | None = None  # settles the status; the time is that of the history line
    status_before_query: str | None = None
    revision: int | None = None  # a new text: the revision it starts
    key_spent_for: str | None = None  # the verb the reply key has now been used for
    touched: bool = False  # something was accepted: the item's updated_at moves


@dataclass(frozen=True)
class HistoryLine:
    """One line for the item's history: its kind, what `show` prints, and the facts kept with it."""

    kind: EventKind
    detail: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Decision:
    """Every consequence of one reply, as data."""

    ruling: Ruling
    change: Change
    history: HistoryLine
    notices: tuple[Notice, ...]


# --------------------------------------------------------------------------- deciding


def decide(
    command: Command | None,
    actor: Actor,
    item: ItemState,
    rules: Rules,
    *,
    registry: Registry,
    desk: Desk,
    text: str = "",
) -> Decision:
    """The verdict on one reply and all that follows from it: the change, the history line, the notices."""
    ruling = judge(command, actor, item, rules, registry)
    return Decision(
        ruling,
        _change(ruling, actor, item),
        _history(command, ruling, actor, item, text),
        notices(ruling, actor, item, desk),
    )


def judge(command: Command | None, actor: Actor, item: ItemState, rules: Rules, registry: Registry) -> Ruling:
    """Apply the policy to one command from one person on one item: the verdict only."""
    name = command.verb if command else ""
    if name != _HELP and (reason := untied(actor, item)):
        return refuse(name, reason)  # recorded, and answered with how to decide; never more
    if command is None:
        if is_drafter(actor, item) and (not actor.is_reviewer or item.status == Status.QUERIED):
            return drafter_message(actor, item)  # a SMAT member answering a query on their own draft, too
        return refuse("", "no command was recognised at the start of the reply")
    verb = registry.get(command.verb)
    if verb is None:
        return refuse(command.verb, f"{command.verb} is not a command")
    return verb.rule(command, actor, item, rules)


_HELP = "HELP"  # asking for the command list decides nothing, so it needs no key


def untied(actor: Actor, item: ItemState) -> str:
    """Why this message may decide nothing at all, whoever sent it; "" if it carries what a decision needs.

    No decision without a reply key (policy §6.3, issue 7): a key in our plus-address, or our
    Message-ID in In-Reply-To/References, bound to one person and one item. The subject tag
    alone is something anyone can write, and authentication never stands in for the key.
    """
    if actor.repeated_headers:
        names = ", ".join(name.title() for name in actor.repeated_headers)
        return f"the message has more than one {names} header, so it cannot be trusted to decide anything"
    if actor.key_holder is not None:
        return ""
    if actor.role == Role.FORMER:
        return _FORMER
    if actor.is_reviewer:
        return (
            f"this reply carries no reply key, only the subject tag [{item.ref}]; "
            "reply to your review request to decide, keeping its reply address"
        )
    if is_drafter(actor, item):
        return f"this reply could not be tied to mail we sent you about {item.ref}; reply to the mail we sent you"
    return _NOT_REVIEWER


_FORMER = "you are no longer an active member of SMAT, so your reply keys no longer work"
_NOT_REVIEWER = "only the Town Clerk, the Deputy Town Clerk and SMAT members can decide on drafts"


def is_drafter(actor: Actor, item: ItemState) -> bool:
    """Whether the reply's sender is the item's sender: one person, whichever of their addresses."""
    return actor.who == (item.sender_person or item.sender.lower())


def holds_own_key(actor: Actor) -> bool:
    """Whether the reply came back through mail we sent to this very address (a key they hold)."""
    return actor.key_holder is not None and actor.key_holder.lower() == actor.email.lower()


def refuse(verb: str, reason: str) -> Ruling:
    """A refusal: nothing changes, and the sender is told why with the commands they may use."""
    return Ruling(verb=verb, accepted=False, reason=reason, effects=frozenset({Effect.HELP}))


def drafter_message(actor: Actor, item: ItemState) -> Ruling:
    """The drafter wrote back without a command: an answer to a query goes to SMAT, if it answers our mail.

    Only through mail we sent the drafter (its key, or its Message-ID): anyone can put the
    drafter's address in From, and a forged answer must not reach SMAT or move the item.
    """
    if not holds_own_key(actor):
        return refuse("", f"this reply could not be tied to mail we sent you about {item.ref}; reply to that mail")
    if item.status == Status.QUERIED:
        # Back to where it was: an escalated item stays with the Clerk after the drafter answers.
        return Ruling(
            verb=ANSWER,
            accepted=True,
            new_status=item.status_before_query,
            effects=frozenset({Effect.FORWARD_TO_SMAT}),
        )
    return Ruling(verb=NOTE, accepted=True, effects=frozenset({Effect.FORWARD_TO_SMAT}))


_DRAFTS = frozenset({Kind.DRAFT})
_PLURAL = {Kind.DRAFT: "drafts", Kind.REPORT: "reports", Kind.ENQUIRY: "enquiries"}


def _a(kind: str) -> str:
    """A kind with its article: "a report", "an enquiry"."""
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind}"


def for_reviewers(
    verb: str, actor: Actor, item: ItemState, rules: Rules, kinds: frozenset[Kind] = _DRAFTS
) -> Ruling | None:
    """The checks every SMAT command passes first: the drafter's own words, authority, the kind. None: go on."""
    if is_drafter(actor, item) and not actor.is_reviewer:
        # "Approved by the parents of …" from the drafter is an answer, not an attempt to decide.
        return drafter_message(actor, item)
    if refusal := _authority(verb, actor, item, rules):
        return refuse(verb, refusal)
    if item.kind not in kinds:
        wanted = sorted(kinds)
        return refuse(
            verb,
            f"{item.ref} is {_a(item.kind)}, not {' or '.join(_a(k) for k in wanted)}; "
            f"{verb} applies to {' and '.join(_PLURAL[k] for k in wanted)}",
        )
    if item.status not in OPEN_DRAFT | FINAL | SETTLED | {Status.OPEN}:
        return refuse(verb, f"{item.ref} is {item.status.replace('_', ' ')}; the Town Clerk decides what happens to it")
    return None


def _authority(verb: str, actor: Actor, item: ItemState, rules: Rules) -> str:
    """Why this person may not act on this item at all; "" if they may."""
    if actor.role == Role.FORMER:
        return _FORMER
    if not actor.is_reviewer:
        return _NOT_REVIEWER
    if actor.key_item_conflict:
        return f"the reply key in this message belongs to {item.ref}, but the subject names {actor.key_item_conflict}"
    if actor.key_holder is not None and actor.key_holder.lower() != actor.email.lower():
        return "this review request was sent to another SMAT member; reply to your own"
    if actor.key_expired:
        return "this review request has expired; reply to the most recent message about the item"
    if actor.key_holder is None:  # never reached past `untied`; kept so no route decides without a key
        return (
            "this reply could not be tied to a review request sent to you; "
            "reply to your own review request, keeping its reply address"
        )
    if rules.require_authenticated_replies and not actor.authenticated:
        return f"the council's mail server did not confirm this message came from you ({actor.authentication_reason})"
    if verb in actor.key_used_for:
        return f"this review request has already been used to {verb.lower()} {item.ref}"
    return ""


def already(item: ItemState) -> str:
    """The reason "SMAT-… has already been approved by … at …": who settled it, and when."""
    when = f" at {item.decided_at:%H:%M on %d %B %Y}" if item.decided_at else ""
    by = f" by {item.decided_by}" if item.decided_by else ""
    return f"{item.ref} has already been {item.status}{by}{when}"


def closed(verb: str, actor: Actor, item: ItemState, clerk_if_escalated: bool = True) -> Ruling | None:
    """The refusal when the item is already decided, or escalated past this member; None if open to them."""
    if item.status in FINAL:
        return refuse(verb, already(item))
    if clerk_if_escalated and item.status == Status.ESCALATED and not actor.is_clerk:
        return refuse(verb, f"{item.ref} has been escalated and waits for the Town Clerk or Deputy Town Clerk")
    return None


# --------------------------------------------------------------------------- consequences


def _change(ruling: Ruling, actor: Actor, item: ItemState) -> Change:
    """The stored state after an accepted ruling; a refusal changes nothing."""
    if not ruling.accepted:
        return Change()
    is_decision = ruling.verb not in (ANSWER, NOTE)
    # A new text, or an item made a draft, starts a revision: only review requests sent from now on approve it.
    new_revision = ruling.new_text is not None or (ruling.new_kind == Kind.DRAFT and item.kind != Kind.DRAFT)
    return Change(
        status=ruling.new_status,
        kind=ruling.new_kind,
        text=ruling.new_text,
        approvals=ruling.approvals,
        decided_by=actor.email if ruling.decisive and ruling.new_status else None,
        status_before_query=ruling.returns_to,
        revision=item.revision + 1 if new_revision else None,
        key_spent_for=ruling.verb if is_decision and actor.key is not None else None,
        touched=True,
    )


def _history(command: Command | None, ruling: Ruling, actor: Actor, item: ItemState, text: str) -> HistoryLine:
    """The line the reply adds to the item's history (the raw message is kept with it)."""
    if ruling.verb in (ANSWER, NOTE):
        return HistoryLine(EventKind.DRAFTER_REPLY, excerpt(text), {"matched_by": actor.matched_by})
    verb = command.verb if command else ""
    detail = f"{verb or 'unrecognised reply'} {'accepted' if ruling.accepted else 'refused: ' + ruling.reason}"
    if ruling.accepted and command and command.argument:  # `show` displays where it was posted, the reject reason…
        detail += f": {excerpt(command.argument, 300)}"
    data: dict[str, Any] = {
        "command": verb,
        "argument": command.argument if command else excerpt(text, 200),
        "accepted": ruling.accepted,
        "reason": ruling.reason if not ruling.accepted else (command.argument if command else ""),
        "new_status": ruling.new_status if ruling.accepted else None,
        "from_status": item.status,
        "key": actor.key,
        "matched_by": actor.matched_by,
        "authenticated": actor.authenticated,
        "revision": item.revision,  # the text the command was made on: an approval names what it approved
    }
    if actor.repeated_headers:
        data["repeated_headers"] = list(actor.repeated_headers)
    if ruling.accepted:
        data.update(ruling.facts)  # what the command settled: the assignee, the response sent, the new kind
    return HistoryLine(EventKind.DECISION, detail, data)


def excerpt(text: str, limit: int = 500) -> str:
    """The text on one line, cut to `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
