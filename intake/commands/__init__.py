"""The reply commands, one module per verb, and the default registry that lists them in order.

Adding a verb: a new module here declaring `VERB = Verb(...)` with its rule, one line in
`DEFAULT` below, and a template in templates/ only if it sends new mail.
"""

from __future__ import annotations

from intake.commands import actioned, approve, assign, edit, escalate, kind, posted, query, reject, respond, withdraw
from intake.commands import help as help_
from intake.commands.base import Registry, Verb

__all__ = ["DEFAULT", "Registry", "Verb", "default_registry"]

# The order HELP and every command list show them in; HELP last.
DEFAULT: tuple[Verb, ...] = (
    approve.VERB,
    reject.VERB,
    edit.VERB,
    query.VERB,
    escalate.VERB,
    posted.VERB,
    respond.VERB,
    actioned.VERB,
    assign.VERB,
    kind.VERB,
    withdraw.VERB,
    help_.VERB,
)


def default_registry() -> Registry:
    """The registry of the commands this service understands."""
    return Registry(DEFAULT)
