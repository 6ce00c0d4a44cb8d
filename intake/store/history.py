"""THE one writer of an item's history: every line (received, decision, mail sent…) is added here.

The events table refuses changes and deletions, so a line, once committed, is the record.
Each function takes the caller's session: the line lands in the same transaction as the
change it describes.
"""

from __future__ import annotations

from sqlalchemy import insert

from intake.store.db import Session
from intake.store.models import Event, Item, Message, utcnow

SYSTEM_ACTOR = "smat-intake"  # the actor of lines the service writes itself (mail queued, sent, failed)


def add_event(
    session: Session, item: Item, kind: str, actor: str, detail: str, row: Message | None = None, **data: object
) -> Event:
    """Append one line to the item's history, citing the message `row` that caused it, if any."""
    return add_event_by_id(session, item.id, kind, actor, detail, row.id if row else None, **data)


def add_event_by_id(
    session: Session,
    item_id: int,
    kind: str,
    actor: str,
    detail: str,
    message_id: int | None = None,
    **data: object,
) -> Event:
    """Append one line to the history of the item with this id (for callers that hold no `Item`)."""
    event = Event(
        item_id=item_id,
        at=utcnow(),
        actor=actor,
        kind=kind,
        detail=detail,
        data=data,
        message_id=message_id,
    )
    session.add(event)
    return event


# Built once: the delivery loop writes a line for every mail it sends.
_NOTE = insert(Event.__table__)  # type: ignore[arg-type]


def note_by_id(
    session: Session, item_id: int, kind: str, actor: str, detail: str, message_id: int | None = None, **data: object
) -> None:
    """`add_event_by_id` as one INSERT, with no object kept in the session: for the delivery loop's hot path."""
    session.connection().execute(
        _NOTE,
        {
            "item_id": item_id,
            "at": utcnow(),
            "actor": actor,
            "kind": str(kind),
            "detail": detail,
            "data": data,
            "message_id": message_id,
        },
    )
