"""What a reply command is: its spellings, how it is shown, who may use it where, and its rule.

One `Verb` per module in this package; a `Registry` holds them in the order HELP lists
them and answers "which commands may this reader use on this item now?". The registry is
a value passed to whoever reads, rules on or lists commands, never a global.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from intake.vocab import CLERK_ROLES, Kind, Role, Status

if TYPE_CHECKING:
    from intake.decisions import Actor, ItemState, Rules, Ruling
    from intake.replies import Command

# The rule of one verb: the command, who sent it, the item as the rules see it, the policy -> the verdict.
Rule = Callable[["Command", "Actor", "ItemState", "Rules"], "Ruling"]

EVERYONE: frozenset[Role] = frozenset(Role)
ALL_KINDS: frozenset[Kind] = frozenset(Kind)
ALL_STATES: frozenset[Status] = frozenset(Status)


@dataclass(frozen=True)
class Verb:
    """One reply command, declared once: everything HELP, the lists and the rules need to know of it."""

    name: str  # upper case, as recorded in the history ("APPROVE")
    usage: str  # as shown in every command list ("APPROVE [note]")
    meaning: str  # one line, after the usage ("approve the draft for posting")
    example: str  # a complete first line ("APPROVE Lovely photo")
    past: str  # "<who> <past> SMAT-2026-0042" in notices ("approved", "sent a question about")
    rule: Rule
    aliases: tuple[str, ...] = ()  # other spellings accepted at the start of a reply
    roles: frozenset[Role] = frozenset()  # roles that may use it
    drafter: bool = False  # the item's own sender may use it, whatever their role
    own_item: bool = True  # a member whose role may use it may also use it on an item they sent
    kinds: frozenset[Kind] = frozenset({Kind.DRAFT})  # the item kinds it applies to
    states: frozenset[Status] = frozenset()  # the item states it applies in
    clerk_states: frozenset[Status] = frozenset()  # states in which only the Clerk or Deputy may use it

    @property
    def spellings(self) -> tuple[str, ...]:
        """Every word that starts a reply with this command."""
        return (self.name, *self.aliases)

    def may(self, role: str, is_drafter: bool, kind: str, status: str) -> bool:
        """Whether a reader in this role (the item's sender or not) may use it on an item of this kind and state."""
        if kind not in self.kinds or status not in self.states:
            return False
        if is_drafter and self.drafter:
            return True
        if role not in self.roles or (is_drafter and not self.own_item):
            return False
        return status not in self.clerk_states or role in CLERK_ROLES


@dataclass(frozen=True)
class Registry:
    """The commands in the order they are listed; built once by the service and passed in."""

    verbs: tuple[Verb, ...]

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for verb in self.verbs:
            for spelling in verb.spellings:
                if spelling.upper() != spelling or spelling in seen:
                    raise ValueError(f"{verb.name}: the spelling {spelling!r} is not upper case or is taken")
                seen[spelling] = verb.name

    def __iter__(self) -> Iterator[Verb]:
        return iter(self.verbs)

    def __contains__(self, name: object) -> bool:
        return any(verb.name == name for verb in self.verbs)

    def get(self, name: str) -> Verb | None:
        """The verb of this canonical name, or None."""
        return next((verb for verb in self.verbs if verb.name == name), None)

    @property
    def spellings(self) -> Mapping[str, str]:
        """Every accepted spelling -> the verb's canonical name (what `replies.read_command` looks up)."""
        return {spelling: verb.name for verb in self.verbs for spelling in verb.spellings}

    def available(self, role: str, is_drafter: bool, kind: str, status: str) -> tuple[Verb, ...]:
        """The commands this reader may use on an item of this kind in this state, in listing order."""
        return tuple(verb for verb in self.verbs if verb.may(role, is_drafter, kind, status))

    def adding(self, verb: Verb, before: str = "HELP") -> Registry:
        """A new registry with one more verb, listed before `before` (HELP stays last)."""
        names = [v.name for v in self.verbs]
        at = names.index(before) if before in names else len(names)
        return Registry((*self.verbs[:at], verb, *self.verbs[at:]))
