"""REJECT: a SMAT member turns the draft down; the reason, which is required, goes to the drafter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from intake.commands.base import Verb
from intake.decisions import Actor, ItemState, Rules, Ruling, closed, for_reviewers, refuse
from intake.notices import Effect
from intake.vocab import OPEN_DRAFT, REVIEWER_ROLES, Status

if TYPE_CHECKING:
    from intake.replies import Command

NAME = "REJECT"


def rule(command: Command, actor: Actor, item: ItemState, rules: Rules) -> Ruling:
    """Reject an open draft, given a reason on the command's line or below it."""
    if early := for_reviewers(NAME, actor, item, rules):
        return early
    if refusal := closed(NAME, actor, item):
        return refusal
    if not (command.argument or command.body):
        return refuse(NAME, "a reason is required: reply with REJECT followed by the reason, which goes to the sender")
    return Ruling(
        NAME,
        accepted=True,
        new_status=Status.REJECTED,
        effects=frozenset({Effect.TELL_DRAFTER, Effect.TELL_SMAT}),
        decisive=True,
    )


VERB = Verb(
    name=NAME,
    aliases=("REJECTED",),
    usage="REJECT reason",
    meaning="reject it; the reason goes to the sender",
    example="REJECT The photo shows children without their parents' consent",
    past="rejected",
    rule=rule,
    roles=REVIEWER_ROLES,
    states=OPEN_DRAFT,
    clerk_states=frozenset({Status.ESCALATED}),
)
