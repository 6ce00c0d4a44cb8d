"""ESCALATE: a SMAT member passes the draft to the Town Clerk or Deputy Town Clerk."""

from __future__ import annotations

from typing import TYPE_CHECKING

from intake.commands.base import Verb
from intake.decisions import Actor, ItemState, Rules, Ruling, closed, for_reviewers, refuse
from intake.notices import Effect
from intake.vocab import REVIEWER_ROLES, Status

if TYPE_CHECKING:
    from intake.replies import Command

NAME = "ESCALATE"


def rule(command: Command, actor: Actor, item: ItemState, rules: Rules) -> Ruling:
    """Escalate an open draft that is not already waiting for the Clerk."""
    if early := for_reviewers(NAME, actor, item, rules):
        return early
    if refusal := closed(NAME, actor, item, clerk_if_escalated=False):
        return refusal
    if item.status == Status.ESCALATED:
        return refuse(NAME, f"{item.ref} is already waiting for the Town Clerk or Deputy Town Clerk")
    return Ruling(
        NAME, accepted=True, new_status=Status.ESCALATED, effects=frozenset({Effect.TELL_SMAT}), decisive=True
    )


VERB = Verb(
    name=NAME,
    usage="ESCALATE [note]",
    meaning="pass it to the Town Clerk or Deputy Town Clerk",
    example="ESCALATE It names a candidate in the election",
    past="escalated",
    rule=rule,
    roles=REVIEWER_ROLES,
    states=frozenset({Status.IN_REVIEW, Status.QUERIED}),
)
