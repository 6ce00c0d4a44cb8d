"""QUERY: a SMAT member asks the drafter a question; their answer brings the item back to where it was."""

from __future__ import annotations

from typing import TYPE_CHECKING

from intake.commands.base import Verb
from intake.decisions import Actor, ItemState, Rules, Ruling, closed, for_reviewers, refuse
from intake.notices import Effect
from intake.vocab import OPEN_DRAFT, REVIEWER_ROLES, Status

if TYPE_CHECKING:
    from intake.replies import Command

NAME = "QUERY"


def rule(command: Command, actor: Actor, item: ItemState, rules: Rules) -> Ruling:
    """Ask the question (which is required); remember the status the answer returns the item to."""
    if early := for_reviewers(NAME, actor, item, rules):
        return early
    if refusal := closed(NAME, actor, item):
        return refusal
    if not (command.argument or command.body):
        return refuse(NAME, "QUERY needs the question for the sender after it")
    return Ruling(
        NAME,
        accepted=True,
        new_status=Status.QUERIED,
        returns_to=None if item.status == Status.QUERIED else item.status,
        effects=frozenset({Effect.ASK_DRAFTER, Effect.TELL_SMAT}),
        decisive=True,
    )


VERB = Verb(
    name=NAME,
    usage="QUERY question",
    meaning="ask the sender a question",
    example="QUERY Do we have the parents' consent for the photo?",
    past="sent a question about",
    rule=rule,
    roles=REVIEWER_ROLES,
    states=OPEN_DRAFT,
    clerk_states=frozenset({Status.ESCALATED}),
)
