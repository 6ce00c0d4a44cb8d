"""THE one writer of an item's history: every line (received, decision, mail sent…) is added here.

The events table refuses changes and deletions, so a line, once committed, is the record.
Each function takes the caller's session: the line lands in the same transaction as the
change it describes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Select, insert

from intake.store.db import Session
from intake.store.models import Event, Item, Message, utcnow

SYSTEM_ACTOR = "smat-intake"  # the actor of lines the service writes itself (mail queued, sent, failed)


def add_event(
    session: Session, item: Item, kind: str, actor: str, detail: str, row: Message | None = None, **data: object
) -> datetime:
    """Append one line to the item's history, citing the message `row` that caused it, if any; the line's time."""
    return add_event_by_id(session, item.id, kind, actor, detail, row.id if row else None, **data)


def add_event_by_id(
    session: Session,
    item_id: int,
    kind: str,
    actor: str,
    detail: str,
    message_id: int | None = None,
    **data: object,
) -> datetime:
    """Append one line to the history of the item with this id (for callers that hold no `Item`); the line's time.

    One INSERT, built once, on the session's connection: a draft writes half a dozen lines, and the
    ORM's bookkeeping for each cost more than the INSERT. The line is in the table at once.
    """
    at = utcnow()
    session.connection().execute(_LINE, _line(item_id, at, kind, actor, detail, data, message_id))
    return at


def add_lines_by_id(session: Session, lines: Sequence[tuple[int, str, str, str, dict[str, object]]]) -> None:
    """Append lines to the histories of several items in one statement, each (item id, kind, actor, detail,
    data): a batch of sent mail on SQLite is recorded while taking mail in waits for the write lock, and the
    four mails a draft queues are four lines (on PostgreSQL each statement is a round trip)."""
    if not lines:
        return
    at = utcnow()
    session.connection().execute(
        _LINE, [_line(item_id, at, kind, actor, detail, data) for item_id, kind, actor, detail, data in lines]
    )


def _line(
    item_id: int,
    at: datetime,
    kind: str,
    actor: str,
    detail: str,
    data: dict[str, object],
    message_id: int | None = None,
) -> dict[str, object]:
    """One history line's values, as both writers above insert them."""
    return {
        "item_id": item_id,
        "at": at,
        "actor": actor,
        "kind": str(kind),
        "detail": detail,
        "data": data,
        "message_id": message_id,
    }


def lines_from(rows: Select[Any]) -> Insert:
    """An INSERT of the lines `rows` selects (item id, time, actor, kind, detail, data), for a writer whose lines
    come in the statement that makes its change: on PostgreSQL a mail's result and its line are one round trip."""
    return insert(Event.__table__).from_select(["item_id", "at", "actor", "kind", "detail", "data"], rows)  # type: ignore[arg-type]


# Built once, for every line of history.
_LINE = insert(Event.__table__)  # type: ignore[arg-type]
