"""The messages table: every message exactly as received, kept before anything else is done with it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, literal, select, union_all

from intake.arrival import Arrival
from intake.message.trace import without_trace
from intake.store.db import Session, Sessions
from intake.store.models import Item, Message, utcnow
from intake.store.unit import reading

_CANDIDATES = 20  # messages sharing one Message-ID compared byte for byte; more is a sender's fault


def keep(
    session: Session,
    arrival: Arrival,
    classification: str,
    reason: str,
    *,
    message_id: str | None = None,
    sender: str = "",
    subject: str = "",
    item: Item | None = None,
) -> Message:
    """Store the raw bytes as received, with the few fields needed to find them again.

    A new `item` (not yet written) is written in the same flush, before the message that refers to it:
    one flush and no UPDATE afterwards. The message is received when the item was.
    """
    raw = arrival.raw
    row = Message(
        source=arrival.source,
        source_key=arrival.source_key,
        received_at=item.received_at if item is not None else utcnow(),
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        message_id=message_id[:998] if message_id else None,
        sender=sender[:320],
        subject=subject,
        classification=classification,
        reason=reason,
        item=item,
    )
    session.add(row)
    session.flush()  # a second arrival under the same source key fails here, before any other work
    return row


def file_under(row: Message, item: Item) -> None:
    """Note that this message belongs to the item (a reply, or automatic mail about it)."""
    row.item_id = item.id


# Built once: every message is looked for by its source key and its bytes before anything else, in one
# statement (on PostgreSQL each statement is a round trip): the key's row, the row with the same bytes,
# and up to _CANDIDATES rows with the same Message-ID, each marked with how it was found.
def _found(how: str, condition: ColumnElement[bool], limit: int) -> Select[Any]:
    return select(Message.id, Message.raw, literal(how).label("how")).where(condition).order_by(Message.id).limit(limit)


_EARLIER = union_all(
    *(
        found.subquery().select()  # SQLite takes no ORDER BY or LIMIT inside a UNION's parts
        for found in (
            _found("key", Message.source_key == bindparam("key"), 1),  # rare: the raw bytes come along
            _found("bytes", Message.sha256 == bindparam("sha"), 1),
            _found("id", Message.message_id == bindparam("mid"), _CANDIDATES),
        )
    )
)
_BY_SOURCE_KEY = select(Message.id).where(Message.source_key == bindparam("key")).limit(1)


@dataclass(frozen=True)
class Earlier:
    """What was kept before of a message arriving: under its source key, and as the same message."""

    by_key: Message | None
    again: Message | None


def earlier(session: Session, source_key: str | None, raw: bytes, message_id: str | None) -> Earlier:
    """What was kept before: the message taken in under this source key (an IMAP UID, say), and one that is
    this message delivered again (the same bytes, or the same Message-ID and the same bytes apart from the
    trace headers servers add). Two different messages that share a Message-ID (a careless mail program)
    are both kept."""
    params = {
        "key": source_key,
        "sha": hashlib.sha256(raw).hexdigest(),
        "mid": message_id[:998] if message_id else None,
    }
    rows = session.connection().execute(_EARLIER, params).all()
    by_key = next((row.id for row in rows if row.how == "key"), None)
    exact = next((row.id for row in rows if row.how == "bytes" and row.raw == raw), None)
    if exact is None and any(row.how == "id" for row in rows):  # usually no row shares the Message-ID
        ours = without_trace(raw)
        exact = next((row.id for row in rows if row.how == "id" and row.raw and without_trace(row.raw) == ours), None)
    return Earlier(
        session.get(Message, by_key) if by_key is not None else None,
        session.get(Message, exact) if exact is not None else None,
    )


def seen(session: Session, source_key: str) -> Message | None:
    """The message already taken in under this source key (an IMAP UID, say), if any."""
    found = session.connection().execute(_BY_SOURCE_KEY, {"key": source_key}).scalar()
    return session.get(Message, found) if found is not None else None


def seen_before(sessions: Sessions, source_key: str) -> Message | None:
    """`seen`, in a read of its own: after another writer won the race to store the same key."""
    with reading(sessions, "look up the message") as session:
        return seen(session, source_key)
