"""APPROVE: a SMAT member approves the current text; with enough approvals it is approved and ready to post.

An approval names the text it approves: the key it came with must have been sent with the
item's present revision, so nobody approves words they were never shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from intake.commands.base import Verb
from intake.decisions import Actor, ItemState, Rules, Ruling, closed, for_reviewers, is_drafter, refuse
from intake.notices import Effect
from intake.vocab import FINAL, OPEN_DRAFT, REVIEWER_ROLES, Status

if TYPE_CHECKING:
    from intake.replies import Command

NAME = "APPROVE"


def rule(command: Command, actor: Actor, item: ItemState, rules: Rules) -> Ruling:
    """Approve, unless it is their own draft, decided, escalated or flagged past them, or already approved by them."""
    if early := for_reviewers(NAME, actor, item, rules):
        return early
    if is_drafter(actor, item) and item.status not in FINAL:
        return refuse(NAME, "you cannot approve your own draft; another member of SMAT must")
    if refusal := closed(NAME, actor, item):
        return refusal
    if item.high_flags and not actor.is_clerk:
        return refuse(
            NAME, f"{item.ref} carries a high-severity flag, so only the Town Clerk or Deputy Town Clerk can approve it"
        )
    if actor.key_revision != item.revision:
        return refuse(
            NAME,
            f"the text of {item.ref} has changed since this request was sent; "
            "approve the new version from the latest request",
        )
    if actor.who in item.approvals:
        return refuse(NAME, f"you have already approved {item.ref}; another member's approval is needed")
    approvals = tuple(dict.fromkeys((*item.approvals, actor.who)))  # one per person, whichever address
    if len(approvals) < rules.approvals_required:
        return Ruling(NAME, accepted=True, approvals=approvals, effects=frozenset({Effect.TELL_SMAT}), decisive=True)
    return Ruling(
        NAME,
        accepted=True,
        new_status=Status.APPROVED,
        approvals=approvals,
        effects=frozenset({Effect.TELL_DRAFTER, Effect.READY_TO_POST}),
        decisive=True,
    )


VERB = Verb(
    name=NAME,
    aliases=("APPROVED",),
    usage="APPROVE [note]",
    meaning="approve the draft for posting",
    example="APPROVE Lovely photo, thank you",
    past="approved",
    rule=rule,
    roles=REVIEWER_ROLES,
    own_item=False,
    states=OPEN_DRAFT,
    clerk_states=frozenset({Status.ESCALATED}),
)
