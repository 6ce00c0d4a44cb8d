"""What every template about an item can use: council, item fields, dates in local time, the commands.

The command lists in our mail are rendered from the verb registry for each reader:
`commands_for(recipient.email)` in a template gives the commands that person may use on
this item in its present state (a reviewer, the drafter, or someone else).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from intake.commands import Registry, Verb, default_registry
from intake.config import Settings
from intake.screening import by_severity
from intake.shown_text import shown
from intake.store.models import Item
from intake.vocab import ROLE_LABELS, Role


def person_role(settings: Settings, email: str) -> str:
    """An address's role for the rules: its roster role if active, "former" if not, else "public"."""
    person = settings.person(email)
    if person is None:
        return Role.PUBLIC
    return person.role if person.active else Role.FORMER


def person_label(settings: Settings, email: str) -> str:
    """How notices name someone: "Sam Smat (SMAT member)", the role alone if that is their name, else the address."""
    person = settings.person(email)
    if person is None:
        return email
    role = ROLE_LABELS.get(person.role, person.role)
    return person.name if person.name.lower() == role.lower() else f"{person.name} ({role})"


def commands_for(settings: Settings, item: Item, registry: Registry) -> Callable[[str], tuple[Verb, ...]]:
    """For templates: reader's address -> the commands they may use on this item as it is now."""

    def listing(email: str) -> tuple[Verb, ...]:
        is_drafter = email.strip().lower() == item.sender.strip().lower()
        return registry.available(person_role(settings, email), is_drafter, item.kind, item.status)

    return listing


def item_context(settings: Settings, item: Item, registry: Registry | None = None) -> dict[str, Any]:
    """The template context shared by all mail about one item."""
    received = item.received_at.astimezone(settings.council.tz)
    return {
        "council": settings.council,
        "mailbox": settings.mailbox.address,
        "kind": item.kind,
        "status": item.status,
        "subject": item.subject,
        "sender": item.sender,
        "sender_name": item.sender_name,
        "drafter_name": _roster_name(settings, item.sender),  # greetings: a display name proves nothing
        "role_label": ROLE_LABELS.get(item.sender_role, item.sender_role),
        "sender_role": item.sender_role,  # acknowledgements remind councillors and staff of §7/§8
        "received_at": received.strftime("%A %d %B %Y, %H:%M"),
        "text": shown(item.text, item.ref),  # a very long email: its first 100,000 characters
        "flags": by_severity(list(item.flags or [])),  # the policy flags, high first (review requests)
        "commands_for": commands_for(settings, item, registry if registry is not None else default_registry()),
    }


def _roster_name(settings: Settings, email: str) -> str:
    """The roster's name for an address, else "" (our mail then says "Hello,")."""
    person = settings.person(email)
    return person.name if person is not None else ""
