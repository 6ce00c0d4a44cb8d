"""KIND: a SMAT member says what an item really is (draft, report or enquiry); its state follows.

A draft made a report or an enquiry is open (approvals dropped); a report or enquiry made a
draft is screened as a draft would have been and goes to review as a new revision, so that
only the review requests sent with it can approve it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from intake.commands.base import ALL_KINDS, Verb
from intake.decisions import Actor, ItemState, Rules, Ruling, closed, for_reviewers, refuse
from intake.notices import Effect
from intake.vocab import OPEN_DRAFT, REVIEWER_ROLES, Kind, Status

if TYPE_CHECKING:
    from intake.replies import Command

NAME = "KIND"
_CHANGEABLE = OPEN_DRAFT | {Status.OPEN}
_CHOICES = " | ".join(Kind)


def rule(command: Command, actor: Actor, item: ItemState, rules: Rules) -> Ruling:
    """Change an undecided item's kind to another kind; the item's status follows."""
    if early := for_reviewers(NAME, actor, item, rules, ALL_KINDS):
        return early
    if refusal := closed(NAME, actor, item):
        return refusal
    if item.status not in _CHANGEABLE:
        return refuse(NAME, f"{item.ref} is {item.status.replace('_', ' ')}; its kind can no longer be changed")
    words = (command.argument or command.body).split()
    new = words[0].lower().strip(".") if words else ""
    if new not in set(Kind):
        return refuse(NAME, f"KIND needs one of {_CHOICES}: KIND report")
    if new == item.kind:
        return refuse(NAME, f"{item.ref} is already a{'n' if new == Kind.ENQUIRY else ''} {new}")
    to_draft = new == Kind.DRAFT
    return Ruling(
        NAME,
        accepted=True,
        new_status=Status.IN_REVIEW if to_draft else Status.OPEN,
        new_kind=new,
        approvals=(),
        # A new draft goes to every reviewer with fresh keys; otherwise the others hear of the change.
        effects=frozenset({Effect.REVIEW_AGAIN} if to_draft else {Effect.TELL_SMAT}),
        decisive=True,
        facts={"kind_from": item.kind, "kind_to": new},
    )


VERB = Verb(
    name=NAME,
    usage="KIND new-kind",
    meaning="make it a draft, a report or an enquiry; its state follows",
    example="KIND report",
    past="changed the kind of",
    rule=rule,
    roles=REVIEWER_ROLES,
    kinds=ALL_KINDS,
    states=_CHANGEABLE,
    clerk_states=frozenset({Status.ESCALATED}),
)
