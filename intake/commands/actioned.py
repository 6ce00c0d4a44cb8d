"""ACTIONED: a SMAT member closes a report, saying what was done; the reporter is told (Appendix A: notice served).

A report stays open, and in every daily digest, until this is accepted; the note is
required because it is what the person who reported it reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from intake.commands.base import Verb
from intake.decisions import Actor, ItemState, Rules, Ruling, already, for_reviewers, refuse
from intake.notices import Audience, Effect, Tell, Thread
from intake.vocab import REVIEWER_ROLES, Kind, Purpose, Status

if TYPE_CHECKING:
    from intake.replies import Command

NAME = "ACTIONED"
REPORTS = frozenset({Kind.REPORT})

TELL_REPORTER = Tell(
    "report-actioned",
    Purpose.DECISION,
    Audience.DRAFTER_NOT_ACTOR,
    "the person who reported it hears what was done",
    Thread.LAST_OR_FIRST,
)


def rule(command: Command, actor: Actor, item: ItemState, rules: Rules) -> Ruling:
    """Close an open report, given a note of what was done (on the command's line or below it)."""
    if early := for_reviewers(NAME, actor, item, rules, REPORTS):
        return early
    if item.status == Status.ACTIONED:
        return refuse(NAME, already(item))
    if item.status != Status.OPEN:
        return refuse(NAME, f"{item.ref} is {item.status.replace('_', ' ')}; only an open report can be actioned")
    if not (command.argument or command.body):
        return refuse(
            NAME,
            "ACTIONED needs a note of what was done, which goes to the person who reported it: "
            "ACTIONED The bench was repaired on Tuesday",
        )
    return Ruling(
        NAME,
        accepted=True,
        new_status=Status.ACTIONED,
        effects=frozenset({TELL_REPORTER, Effect.TELL_SMAT}),
        decisive=True,
    )


VERB = Verb(
    name=NAME,
    usage="ACTIONED note",
    meaning="close the report; the note of what was done goes to the person who reported it",
    example="ACTIONED The bench on the Market Square was repaired on Tuesday",
    past="marked as actioned",
    rule=rule,
    roles=REVIEWER_ROLES,
    kinds=REPORTS,
    states=frozenset({Status.OPEN}),
)
