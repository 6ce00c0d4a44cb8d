"""RESPOND: a SMAT member sends an enquirer one of the council's standard responses (policy §6.4).

The key names a file in templates/responses/; the response goes with the council's contact
details, and the history records which one was sent. Words after the key, or below it,
go with it as a note from the team.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from intake.commands.base import Verb
from intake.decisions import Actor, ItemState, Rules, Ruling, already, for_reviewers, refuse
from intake.notices import Audience, Effect, Tell, Thread
from intake.vocab import REVIEWER_ROLES, Kind, Purpose, Status

if TYPE_CHECKING:
    from intake.replies import Command

NAME = "RESPOND"
ENQUIRIES = frozenset({Kind.ENQUIRY})

SEND_RESPONSE = Tell(
    "standard-response",
    Purpose.STANDARD_RESPONSE,
    Audience.DRAFTER_NOT_ACTOR,
    "the enquirer gets the council's standard response",
    Thread.LAST_OR_FIRST,
)


def rule(command: Command, actor: Actor, item: ItemState, rules: Rules) -> Ruling:
    """Send the named standard response to the enquirer, once, if the library has it."""
    if early := for_reviewers(NAME, actor, item, rules, ENQUIRIES):
        return early
    if item.status == Status.ANSWERED:
        return refuse(NAME, already(item))
    if item.status != Status.OPEN:
        return refuse(NAME, f"{item.ref} is {item.status.replace('_', ' ')}; only an open enquiry can be answered")
    key, _, rest = command.argument.strip().partition(" ")
    key = key.lower().strip(".")
    keys = ", ".join(f"{k} ({title})" for k, title in rules.responses.items())
    if not key:
        return refuse(NAME, f"RESPOND needs the key of a standard response: {keys}")
    if key not in rules.responses:
        return refuse(NAME, f"there is no standard response called {key!r}; the responses are: {keys}")
    note = "\n".join(part for part in (rest.strip(), command.body.strip()) if part)
    return Ruling(
        NAME,
        accepted=True,
        new_status=Status.ANSWERED,
        effects=frozenset({SEND_RESPONSE, Effect.TELL_SMAT}),
        decisive=True,
        facts={"response": key, "response_title": rules.responses[key], "response_note": note},
    )


VERB = Verb(
    name=NAME,
    usage="RESPOND key",
    meaning="send the enquirer that standard response, with the council's contact details",
    example="RESPOND bins",
    past="sent a standard response to",
    rule=rule,
    roles=REVIEWER_ROLES,
    kinds=ENQUIRIES,
    states=frozenset({Status.OPEN}),
)
