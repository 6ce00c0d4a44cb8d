"""ASSIGN: a SMAT member gives an open report to someone on the roster, who is told by mail what they need.

The report stays open (and in the digest) until a SMAT member replies ACTIONED; the history
records who it was assigned to, by whom and when.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from intake.commands.base import Verb
from intake.decisions import Actor, ItemState, Rules, Ruling, already, for_reviewers, refuse
from intake.notices import Addressee, Audience, Effect, Tell
from intake.vocab import REVIEWER_ROLES, Kind, Purpose, Status

if TYPE_CHECKING:
    from intake.replies import Command

NAME = "ASSIGN"
REPORTS = frozenset({Kind.REPORT})
_ADDRESS = re.compile(r"[^\s<>,;]+@[^\s<>,;]+")

TELL_ASSIGNEE = Tell(
    "assigned",
    Purpose.DECISION,
    Audience.ASSIGNEE,
    "the person a report is assigned to gets it, with the reporter's details and the pictures",
    pictures=True,
)


def _words(name: str) -> list[str]:
    return name.replace('"', " ").replace("'", " ").casefold().split()


def roster_match(wanted: str, people: tuple[Addressee, ...]) -> tuple[Addressee, ...]:
    """The roster members a name or address means: an address exactly; a whole name; else every word of it."""
    found = _ADDRESS.search(wanted)
    if found:
        address = found.group(0).strip(".").lower()
        return tuple(p for p in people if p.email.lower() == address)
    words = _words(wanted)
    if not words:
        return ()
    whole = tuple(p for p in people if _words(p.name) == words)
    if whole:
        return whole
    return tuple(p for p in people if all(w in _words(p.name) for w in words))


def rule(command: Command, actor: Actor, item: ItemState, rules: Rules) -> Ruling:
    """Assign an open report to the one roster member named (a name, part of one, or an address)."""
    if early := for_reviewers(NAME, actor, item, rules, REPORTS):
        return early
    if item.status == Status.ACTIONED:
        return refuse(NAME, already(item))
    if item.status != Status.OPEN:
        return refuse(NAME, f"{item.ref} is {item.status.replace('_', ' ')}; only an open report can be assigned")
    wanted = command.argument or (command.body.strip().splitlines() or [""])[0]
    roster = ", ".join(p.name or p.email for p in rules.people)
    if not wanted.strip():
        return refuse(NAME, f"ASSIGN needs the name or address of someone on the roster ({roster})")
    matches = roster_match(wanted, rules.people)
    if not matches:
        return refuse(NAME, f"no one on the roster is called {wanted.strip()!r}; the roster: {roster}")
    if len(matches) > 1:
        names = " or ".join(f"{p.name} <{p.email}>" for p in matches)
        return refuse(NAME, f"{wanted.strip()!r} could be {names}; give the address")
    who = matches[0]
    instructions = command.body.strip() if command.argument else ""  # the lines below the name, for the assignee
    return Ruling(
        NAME,
        accepted=True,
        effects=frozenset({TELL_ASSIGNEE, Effect.TELL_SMAT}),
        decisive=True,
        assignee=who,
        facts={"assignee": who.email, "assignee_name": who.name, "instructions": instructions},
    )


VERB = Verb(
    name=NAME,
    usage="ASSIGN name-or-address",
    meaning="give the report to someone on the roster, who is sent it",
    example="ASSIGN Pat Staff",
    past="assigned",
    rule=rule,
    roles=REVIEWER_ROLES,
    kinds=REPORTS,
    states=frozenset({Status.OPEN}),
)
