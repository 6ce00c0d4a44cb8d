"""Where a reply becomes a decision: who may do what to an item in which state, and what follows.

Pure rules over plain values (policy §6.3: nothing is posted without the express authority
of the Town Clerk, the Deputy Town Clerk or SMAT). `decide` never writes anything; it
returns a Ruling that the pipeline records and acts on. Every command, accepted or
refused, is recorded with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from intake.replies import Command

CLERKS = frozenset({"clerk", "deputy_clerk"})
REVIEWER_ROLES = frozenset({"clerk", "deputy_clerk", "smat"})

# Item states for drafts (design.md): in_review -> approved -> posted, or -> rejected;
# in_review <-> queried; escalated waits for the Clerk or Deputy; withdrawn by the drafter.
OPEN_DRAFT = frozenset({"in_review", "queried", "escalated"})
FINAL = frozenset({"approved", "posted", "rejected", "withdrawn"})

# What each notice tells people; the pipeline maps these onto templates.
TELL_DRAFTER = "tell_drafter"  # decision: approved / rejected (with reason) / edited / withdrawn
ASK_DRAFTER = "ask_drafter"  # a QUERY's question goes to the drafter
TELL_SMAT = "tell_smat"  # every SMAT member hears of each decision
READY_TO_POST = "ready_to_post"  # final text and pictures to SMAT after approval
FORWARD_TO_SMAT = "forward_to_smat"  # the drafter's answer to a query goes to SMAT
HELP = "help"  # the commands, and why a command was refused


@dataclass(frozen=True)
class Actor:
    """Who sent the reply, and what we could establish about them."""

    email: str
    name: str = ""
    role: str = "public"  # the active roster role, else "public"; "former" for an inactive member
    key_holder: str | None = None  # the member a matched reply key was issued to
    key_expired: bool = False
    key_used_for: frozenset[str] = frozenset()  # verbs this key already decided
    key_item_conflict: str = ""  # the ref in the subject when it names another item than the key
    matched_by: str = "key"  # "key" | "message-id" | "subject"
    authenticated: bool = False
    authentication_reason: str = ""

    @property
    def is_reviewer(self) -> bool:
        return self.role in REVIEWER_ROLES

    @property
    def is_clerk(self) -> bool:
        return self.role in CLERKS


@dataclass(frozen=True)
class ItemState:
    """What the rules need to know about an item."""

    ref: str
    kind: str
    status: str
    sender: str
    approvals: tuple[str, ...] = ()  # members who approved the current text
    high_flags: bool = False
    decided_by: str = ""
    decided_at: datetime | None = None
    status_before_query: str = "in_review"  # where the drafter's answer to a query returns the item


@dataclass(frozen=True)
class Rules:
    approvals_required: int = 1
    require_authenticated_replies: bool = False


@dataclass(frozen=True)
class Ruling:
    """The verdict on one command: accepted or not, why, the new state and who to tell."""

    verb: str
    accepted: bool
    reason: str = ""
    new_status: str | None = None
    new_text: str | None = None
    approvals: tuple[str, ...] = ()
    effects: frozenset[str] = field(default_factory=frozenset)
    decisive: bool = False  # a decision others must hear of (and that makes a key spent)


def _refuse(verb: str, reason: str) -> Ruling:
    return Ruling(verb=verb, accepted=False, reason=reason, effects=frozenset({HELP}))


def decide(command: Command | None, actor: Actor, item: ItemState, rules: Rules) -> Ruling:
    """Apply the policy to one command from one person on one item."""
    is_drafter = actor.email.lower() == item.sender.lower()
    if command is None:
        if is_drafter and (
            not actor.is_reviewer or item.status == "queried"
        ):  # a SMAT member answering a query on their own draft
            return _drafter_message(item)
        return Ruling(
            verb="",
            accepted=False,
            reason="no command was recognised at the start of the reply",
            effects=frozenset({HELP}),
        )
    verb = command.verb
    if verb == "HELP":
        return Ruling(verb=verb, accepted=True, effects=frozenset({HELP}))
    if verb == "WITHDRAW":
        return _withdraw(actor, item, is_drafter)
    if is_drafter and not actor.is_reviewer:
        # "Approved by the parents of …" from the drafter is an answer, not an attempt to decide.
        return _drafter_message(item)

    refusal = _authority(verb, actor, item, rules)
    if refusal:
        return _refuse(verb, refusal)
    if item.kind != "draft":
        return _refuse(verb, f"{item.ref} is a {item.kind}, not a draft; {verb} applies to drafts")
    handler = _HANDLERS.get(verb)
    if handler is None:
        return _refuse(verb, f"{verb} is not a command for drafts")
    if item.status not in OPEN_DRAFT | FINAL:
        return _refuse(
            verb, f"{item.ref} is {item.status.replace('_', ' ')}; the Town Clerk decides what happens to it"
        )
    return handler(command, actor, item, rules, is_drafter)


def _authority(verb: str, actor: Actor, item: ItemState, rules: Rules) -> str:
    """Why this person may not act on this item at all; "" if they may."""
    if actor.role == "former":
        return "you are no longer an active member of SMAT, so your reply keys no longer work"
    if not actor.is_reviewer:
        return "only the Town Clerk, the Deputy Town Clerk and SMAT members can decide on drafts"
    if actor.key_item_conflict:
        return f"the reply key in this message belongs to {item.ref}, but the subject names {actor.key_item_conflict}"
    if actor.key_holder is not None and actor.key_holder.lower() != actor.email.lower():
        return "this review request was sent to another SMAT member; reply to your own"
    if actor.key_expired:
        return "this review request has expired; reply to the most recent message about the item"
    if actor.key_holder is None and not actor.authenticated:
        return (
            "this reply could not be tied to a review request sent to you; "
            "reply to your own review request, keeping its reply address"
        )
    if rules.require_authenticated_replies and not actor.authenticated:
        return f"the council's mail server did not confirm this message came from you ({actor.authentication_reason})"
    if verb in actor.key_used_for:
        return f"this review request has already been used to {verb.lower()} {item.ref}"
    return ""


def _already(item: ItemState) -> str:
    when = f" at {item.decided_at:%H:%M on %d %B %Y}" if item.decided_at else ""
    by = f" by {item.decided_by}" if item.decided_by else ""
    return f"{item.ref} has already been {item.status}{by}{when}"


def _closed(verb: str, actor: Actor, item: ItemState, clerk_if_escalated: bool = True) -> Ruling | None:
    """The refusal when the item is already decided, or escalated past this member; None if open to them."""
    if item.status in FINAL:
        return _refuse(verb, _already(item))
    if clerk_if_escalated and item.status == "escalated" and not actor.is_clerk:
        return _refuse(verb, f"{item.ref} has been escalated and waits for the Town Clerk or Deputy Town Clerk")
    return None


def _approve(command: Command, actor: Actor, item: ItemState, rules: Rules, is_drafter: bool) -> Ruling:
    verb = "APPROVE"
    if is_drafter and item.status not in FINAL:
        return _refuse(verb, "you cannot approve your own draft; another member of SMAT must")
    if closed := _closed(verb, actor, item):
        return closed
    if item.high_flags and not actor.is_clerk:
        return _refuse(
            verb, f"{item.ref} carries a high-severity flag, so only the Town Clerk or Deputy Town Clerk can approve it"
        )
    if actor.email.lower() in item.approvals:
        return _refuse(verb, f"you have already approved {item.ref}; another member's approval is needed")
    approvals = tuple(dict.fromkeys((*item.approvals, actor.email.lower())))
    if len(approvals) < rules.approvals_required:
        return Ruling(verb=verb, accepted=True, approvals=approvals, effects=frozenset({TELL_SMAT}), decisive=True)
    return Ruling(
        verb=verb,
        accepted=True,
        new_status="approved",
        approvals=approvals,
        effects=frozenset({TELL_DRAFTER, READY_TO_POST}),
        decisive=True,
    )


def _reject(command: Command, actor: Actor, item: ItemState, rules: Rules, is_drafter: bool) -> Ruling:
    verb = "REJECT"
    if closed := _closed(verb, actor, item):
        return closed
    reason = command.argument or command.body
    if not reason:
        return _refuse(verb, "a reason is required: reply with REJECT followed by the reason, which goes to the sender")
    return Ruling(
        verb=verb, accepted=True, new_status="rejected", effects=frozenset({TELL_DRAFTER, TELL_SMAT}), decisive=True
    )


def _edit(command: Command, actor: Actor, item: ItemState, rules: Rules, is_drafter: bool) -> Ruling:
    verb = "EDIT"
    if closed := _closed(verb, actor, item, clerk_if_escalated=False):
        return closed
    text = "\n".join(part for part in (command.argument, command.body) if part).strip()
    if not text:
        return _refuse(verb, "EDIT needs the new text of the post on the lines below it")
    status = "in_review" if item.status == "queried" else item.status
    return Ruling(
        verb=verb,
        accepted=True,
        new_status=status,
        new_text=text,
        approvals=(),
        effects=frozenset({TELL_DRAFTER, TELL_SMAT}),
        decisive=True,
    )


def _query(command: Command, actor: Actor, item: ItemState, rules: Rules, is_drafter: bool) -> Ruling:
    verb = "QUERY"
    if closed := _closed(verb, actor, item):
        return closed
    if not (command.argument or command.body):
        return _refuse(verb, "QUERY needs the question for the sender after it")
    return Ruling(
        verb=verb, accepted=True, new_status="queried", effects=frozenset({ASK_DRAFTER, TELL_SMAT}), decisive=True
    )


def _escalate(command: Command, actor: Actor, item: ItemState, rules: Rules, is_drafter: bool) -> Ruling:
    verb = "ESCALATE"
    if closed := _closed(verb, actor, item, clerk_if_escalated=False):
        return closed
    if item.status == "escalated":
        return _refuse(verb, f"{item.ref} is already waiting for the Town Clerk or Deputy Town Clerk")
    return Ruling(verb=verb, accepted=True, new_status="escalated", effects=frozenset({TELL_SMAT}), decisive=True)


def _posted(command: Command, actor: Actor, item: ItemState, rules: Rules, is_drafter: bool) -> Ruling:
    verb = "POSTED"
    if item.status == "posted":
        return _refuse(verb, _already(item))
    if item.status != "approved":
        return _refuse(verb, f"{item.ref} is {item.status}; it can be recorded as posted only after approval")
    if not command.argument:
        return _refuse(
            verb, "POSTED needs the account it went out on, and the link if there is one: POSTED Facebook https://…"
        )
    return Ruling(
        verb=verb, accepted=True, new_status="posted", effects=frozenset({TELL_SMAT, TELL_DRAFTER}), decisive=True
    )


def _withdraw(actor: Actor, item: ItemState, is_drafter: bool) -> Ruling:
    verb = "WITHDRAW"
    if not is_drafter:
        return _refuse(verb, "only the person who sent the draft can withdraw it")
    if (actor.key_holder or actor.email).lower() != actor.email.lower() or (
        actor.matched_by == "subject" and not actor.authenticated
    ):
        return _refuse(
            verb, "this reply could not be tied to mail we sent you about the draft; reply to our acknowledgement"
        )
    if item.status in ("posted", "withdrawn", "rejected"):
        return _refuse(verb, f"{item.ref} is {item.status} and can no longer be withdrawn")
    return Ruling(
        verb=verb, accepted=True, new_status="withdrawn", effects=frozenset({TELL_SMAT, TELL_DRAFTER}), decisive=True
    )


def _drafter_message(item: ItemState) -> Ruling:
    """The drafter wrote back without a command: an answer to a query goes to SMAT."""
    if item.status == "queried":
        # Back to where it was: an escalated item stays with the Clerk after the drafter answers.
        return Ruling(
            verb="ANSWER", accepted=True, new_status=item.status_before_query, effects=frozenset({FORWARD_TO_SMAT})
        )
    return Ruling(verb="NOTE", accepted=True, effects=frozenset({FORWARD_TO_SMAT}))


_HANDLERS = {
    "APPROVE": _approve,
    "REJECT": _reject,
    "EDIT": _edit,
    "QUERY": _query,
    "ESCALATE": _escalate,
    "POSTED": _posted,
}
