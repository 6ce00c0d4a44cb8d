"""What every template about an item can use: council, item fields, dates in local time."""

from __future__ import annotations

from typing import Any

from intake.config import Settings
from intake.store.models import Item

ROLE_LABELS = {
    "clerk": "Town Clerk",
    "deputy_clerk": "Deputy Town Clerk",
    "smat": "SMAT member",
    "councillor": "Councillor",
    "staff": "Council staff",
    "public": "Member of the public",
}


def item_context(settings: Settings, item: Item) -> dict[str, Any]:
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
        "role_label": ROLE_LABELS.get(item.sender_role, item.sender_role),
        "received_at": received.strftime("%A %d %B %Y, %H:%M"),
        "text": item.text,
    }
