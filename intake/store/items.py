"""The items table: a new item under the next ref of its year, and the lock a reply takes on one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text

from intake.config.addresses import untagged
from intake.refs import format_ref
from intake.store.db import Session
from intake.store.models import Item
from intake.vocab import Role

# The same text on SQLite and PostgreSQL (the dialects' INSERT … ON CONFLICT is compiled anew each time).
_NEXT_REF = text(
    "INSERT INTO ref_counters (year, last) VALUES (:year, 1)"
    " ON CONFLICT (year) DO UPDATE SET last = ref_counters.last + 1 RETURNING last"
)


def next_ref(session: Session, year: int) -> tuple[int, str]:
    """Take the next item number of the year atomically (safe with two instances on PostgreSQL)."""
    number = session.connection().execute(_NEXT_REF, {"year": year}).scalar_one()
    return number, format_ref(year, number)


def new_item(
    session: Session,
    received_at: datetime,
    year: int,
    kind: str,
    status: str,
    *,
    sender: str = "",
    sender_name: str = "",
    sender_role: str = Role.PUBLIC,
    subject: str = "",
    text: str = "",
    quarantine_reason: str = "",
    flags: list[dict[str, Any]] | None = None,
) -> Item:
    """An item under the next ref of `year`, added to the session: written with its first message
    (`messages.keep(…, item=item)`), in one flush."""
    number, ref = next_ref(session, year)
    item = Item(
        ref=ref,
        year=year,
        number=number,
        kind=kind,
        status=status,
        sender=sender[:320],
        sender_key=untagged(sender)[:320],
        sender_name=sender_name[:320],
        sender_role=sender_role,
        subject=subject,
        text=text,
        received_at=received_at,
        updated_at=received_at,
        quarantine_reason=quarantine_reason,
        flags=flags or [],
    )
    session.add(item)
    return item


def lock_item(session: Session, item_id: int) -> Item:
    """The item, freshly read and locked: two decisions arriving together are taken one after the other."""
    item = session.get(Item, item_id, with_for_update=True, populate_existing=True)
    if item is None:
        raise LookupError(f"no item with id {item_id}")
    return item
