"""What one sender has had from us lately, and the earlier item a repeat of theirs belongs to.

A sender is matched by address, case and sub-address tag aside (victim+1@x is victim@x),
so the tag cannot be used to get past the cap on acknowledgements.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, case, distinct, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from intake.acknowledging import Lately, subject_key
from intake.config.addresses import untagged
from intake.store.db import Session
from intake.store.models import Event, Item, Message
from intake.vocab import OPEN_DRAFT, EventKind, Status

UNDECIDED = (*OPEN_DRAFT, Status.OPEN)  # a draft under review, or a report or enquiry not dealt with
_SUBJECT_CANDIDATES = 50  # the newest items of one sender compared by subject: a flood stays cheap


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _is(column: InstrumentedAttribute[str], sender: str) -> ColumnElement[bool]:
    """The column holds this address, with or without a sub-address tag, in any case."""
    plain = untagged(sender)
    local, _, domain = plain.rpartition("@")
    lowered = func.lower(column)
    return or_(lowered == plain, lowered.like(f"{_like(local)}+%@{_like(domain)}", escape="\\"))


def _from(sender: str) -> ColumnElement[bool]:
    """Items whose sender is this address (their indexed key: lower case, no tag)."""
    return Item.sender_key == untagged(sender)


def _items_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(distinct(case((condition, Item.id))))


_ACKNOWLEDGED = Event.kind == EventKind.ACKNOWLEDGED
_TODAY = Item.received_at >= bindparam("midnight")
# Built once (a draft asks it every time): the sender's items since the earlier of the two bounds,
# counted four ways, with their acknowledgement lines if any.
_LATELY = (
    select(
        _items_where(_ACKNOWLEDGED & (Item.received_at >= bindparam("hour_ago"))),
        _items_where((Event.kind == EventKind.ACK_HELD) & _TODAY),
        _items_where(_TODAY),
        _items_where(_ACKNOWLEDGED & _TODAY),
    )
    .select_from(Item)
    .outerjoin(Event, (Event.item_id == Item.id) & Event.kind.in_([EventKind.ACKNOWLEDGED, EventKind.ACK_HELD]))
    .where(Item.sender_key == bindparam("sender_key"), Item.received_at >= bindparam("since"))
)


def lately(session: Session, sender: str, hour_ago: datetime, midnight: datetime) -> Lately:
    """How many of this sender's items were acknowledged this past hour and today, held back or received today.

    One query over the sender's items since the earlier of the two bounds (this new one included:
    the pipeline has written it already).
    """
    bounds = {"hour_ago": hour_ago, "midnight": midnight, "since": min(hour_ago, midnight)}
    row = session.connection().execute(_LATELY, {"sender_key": untagged(sender), **bounds}).one()
    return Lately(
        acknowledged_this_hour=row[0] or 0,
        held_today=row[1] or 0,
        received_today=row[2] or 0,
        acknowledged_today=row[3] or 0,
    )


def repeat_of(
    session: Session, sender: str, thread: Sequence[str], subject: str, hour_ago: datetime
) -> tuple[Item, str] | None:
    """The sender's undecided item this message repeats, and how we know; None if it is new.

    A repeat answers the sender's own earlier message of the item (In-Reply-To/References),
    or carries the same subject (Re:/Fwd: aside) within the hour.
    """
    if thread:
        item = session.scalars(
            select(Item)
            .join(Message, Message.item_id == Item.id)
            .where(Message.message_id.in_([m[:998] for m in thread[:50]]), _from(sender), Item.status.in_(UNDECIDED))
            .where(_is(Message.sender, sender))
            .order_by(Item.id.desc())
            .limit(1)
        ).first()
        if item is not None:
            return item, "in the thread of the sender's earlier message"
    wanted = subject_key(subject)
    if not wanted:
        return None
    recent = session.connection().execute(_RECENT, {"sender_key": untagged(sender), "since": hour_ago})
    same = next((row.id for row in recent if subject_key(row.subject) == wanted), None)
    return (session.get_one(Item, same), "the same subject within the hour") if same is not None else None


# Built once: every new draft is compared with the sender's undecided items of the hour.
_RECENT = (
    select(Item.id, Item.subject)
    .where(Item.sender_key == bindparam("sender_key"), Item.received_at >= bindparam("since"))
    .where(Item.status.in_(UNDECIDED))
    .order_by(Item.id.desc())
    .limit(_SUBJECT_CANDIDATES)
)
