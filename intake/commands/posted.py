"""POSTED: a SMAT member records where an approved draft went out (public record, policy 6.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from intake.accounts import named_account
from intake.commands.base import Verb
from intake.decisions import Actor, ItemState, Rules, Ruling, already, for_reviewers, refuse
from intake.notices import Effect
from intake.vocab import REVIEWER_ROLES, Status

if TYPE_CHECKING:
    from intake.replies import Command

NAME = "POSTED"


def rule(command: Command, actor: Actor, item: ItemState, rules: Rules) -> Ruling:
    """Record the post of an approved draft, given the account it went out on."""
    if early := for_reviewers(NAME, actor, item, rules):
        return early
    if item.status == Status.POSTED:
        return refuse(NAME, already(item))
    if item.status != Status.APPROVED:
        return refuse(NAME, f"{item.ref} is {item.status}; it can be recorded as posted only after approval")
    if not command.argument:
        return refuse(
            NAME, "POSTED needs the account it went out on, and the link if there is one: POSTED Facebook https://…"
        )
    if named_account(command.argument, rules.accounts) is None:
        return refuse(NAME, _not_registered(command.argument, rules))
    return Ruling(
        NAME,
        accepted=True,
        new_status=Status.POSTED,
        effects=frozenset({Effect.TELL_SMAT, Effect.TELL_DRAFTER}),
        decisive=True,
    )


def _not_registered(argument: str, rules: Rules) -> str:
    """Why a POSTED naming no registered account is not recorded, and what would be (policy 6.2)."""
    if not rules.accounts:
        return (
            "no social media accounts are registered yet, so no post can be recorded; "
            "the register is kept with `smat-intake accounts add`"
        )
    names = "; ".join(a.label + (f" ({a.url})" if a.url else "") for a in rules.accounts)
    return f"“{argument}” names none of the council's registered accounts. Name one of them: {names}"


VERB = Verb(
    name=NAME,
    usage="POSTED account [url]",
    meaning="record where the approved post went out",
    example="POSTED Facebook https://facebook.com/testhamtowncouncil/posts/1",
    past="recorded as posted",
    rule=rule,
    roles=REVIEWER_ROLES,
    states=frozenset({Status.APPROVED}),
)
