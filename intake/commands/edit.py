"""EDIT: a SMAT member replaces the text of the post; a new revision starts, which needs its own approvals.

Earlier approvals lapse, the drafter sees the change, and every reviewer is sent the new
text with a new key: keys sent with an earlier text can no longer approve (issue 7, item 4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from intake.commands.base import Verb
from intake.decisions import Actor, ItemState, Rules, Ruling, closed, for_reviewers, refuse
from intake.notices import Effect
from intake.vocab import OPEN_DRAFT, REVIEWER_ROLES, Status

if TYPE_CHECKING:
    from intake.replies import Command

NAME = "EDIT"


def rule(command: Command, actor: Actor, item: ItemState, rules: Rules) -> Ruling:
    """New text for an open draft (escalated too: any member may tidy it); a queried draft goes back to review."""
    if early := for_reviewers(NAME, actor, item, rules):
        return early
    if refusal := closed(NAME, actor, item, clerk_if_escalated=False):
        return refusal
    text = "\n".join(part for part in (command.argument, command.body) if part).strip()
    if not text:
        return refuse(NAME, "EDIT needs the new text of the post on the lines below it")
    status = Status.IN_REVIEW if item.status == Status.QUERIED else item.status
    return Ruling(
        NAME,
        accepted=True,
        new_status=status,
        new_text=text,
        approvals=(),
        effects=frozenset({Effect.TELL_DRAFTER, Effect.REVIEW_AGAIN}),
        decisive=True,
    )


VERB = Verb(
    name=NAME,
    usage="EDIT",
    meaning="then the new text of the post on the following lines",
    example="EDIT\nVolunteers cleared the riverside path on Saturday. Thank you all!",
    past="edited",
    rule=rule,
    roles=REVIEWER_ROLES,
    states=OPEN_DRAFT,
)
