"""HELP: anyone may ask for the commands they can use; nothing changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from intake.commands.base import ALL_KINDS, ALL_STATES, EVERYONE, Verb
from intake.decisions import Actor, ItemState, Rules, Ruling
from intake.notices import Effect

if TYPE_CHECKING:
    from intake.replies import Command

NAME = "HELP"


def rule(command: Command, actor: Actor, item: ItemState, rules: Rules) -> Ruling:
    """Always answered (to people we know), in any state."""
    return Ruling(NAME, accepted=True, effects=frozenset({Effect.HELP}))


VERB = Verb(
    name=NAME,
    usage="HELP",
    meaning="get this list again",
    example="HELP",
    past="asked for help about",
    rule=rule,
    roles=EVERYONE,
    drafter=True,
    kinds=ALL_KINDS,
    states=ALL_STATES,
)
