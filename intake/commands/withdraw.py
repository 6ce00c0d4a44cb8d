"""WITHDRAW: the person who sent the item takes it back, until it is posted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from intake.commands.base import ALL_KINDS, ALL_STATES, Verb
from intake.decisions import Actor, ItemState, Rules, Ruling, holds_own_key, is_drafter, refuse
from intake.notices import Effect
from intake.vocab import Status

if TYPE_CHECKING:
    from intake.replies import Command

NAME = "WITHDRAW"
_TOO_LATE = frozenset({Status.POSTED, Status.WITHDRAWN, Status.REJECTED, Status.ACTIONED, Status.ANSWERED})


def rule(command: Command, actor: Actor, item: ItemState, rules: Rules) -> Ruling:
    """Withdraw, if this is the sender, the reply is tied to mail we sent them, and it is not too late."""
    if not is_drafter(actor, item):
        return refuse(NAME, "only the person who sent the draft can withdraw it")
    if not holds_own_key(actor):  # a key of mail we sent them; authentication is no substitute
        return refuse(
            NAME, "this reply could not be tied to mail we sent you about the draft; reply to our acknowledgement"
        )
    if item.status in _TOO_LATE:
        return refuse(NAME, f"{item.ref} is {item.status} and can no longer be withdrawn")
    return Ruling(
        NAME,
        accepted=True,
        new_status=Status.WITHDRAWN,
        effects=frozenset({Effect.TELL_SMAT, Effect.CONFIRM_TO_DRAFTER}),  # she hears it took effect
        decisive=True,
    )


VERB = Verb(
    name=NAME,
    usage="WITHDRAW",
    meaning="withdraw what you sent; nothing will be posted",
    example="WITHDRAW",
    past="withdrew",
    rule=rule,
    drafter=True,
    kinds=ALL_KINDS,
    states=ALL_STATES - _TOO_LATE,
)
