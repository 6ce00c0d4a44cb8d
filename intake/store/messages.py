"""The messages table: every message exactly as received, kept before anything else is done with it."""

from __future__ import annotations

import hashlib

from sqlalchemy import bindparam, select

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
) -> Message:
    """Store the raw bytes as received, with the few fields needed to find them again."""
    raw = arrival.raw
    row = Message(
        source=arrival.source,
        source_key=arrival.source_key,
        received_at=utcnow(),
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        message_id=message_id[:998] if message_id else None,
        sender=sender[:320],
        subject=subject,
        classification=classification,
        reason=reason,
    )
    session.add(row)
    session.flush()  # a second arrival under the same source key fails here, before any other work
    return row


def file_under(row: Message, item: Item) -> None:
    """Note that this message belongs to the item (a reply, or automatic mail about it)."""
    row.item_id = item.id


# Built once: every message is looked for by its source key and its bytes before anything else.
_BY_SOURCE_KEY = select(Message.id).where(Message.source_key == bindparam("key")).limit(1)
_BY_SHA256 = select(Message.id, Message.raw).where(Message.sha256 == bindparam("sha")).order_by(Message.id).limit(1)
_BY_MESSAGE_ID = (
    select(Message.id, Message.raw)
    .where(Message.message_id == bindparam("mid"))
    .order_by(Message.id)
    .limit(_CANDIDATES)
)


def seen(session: Session, source_key: str) -> Message | None:
    """The message already taken in under this source key (an IMAP UID, say), if any."""
    found = session.connection().execute(_BY_SOURCE_KEY, {"key": source_key}).scalar()
    return session.get(Message, found) if found is not None else None


def same_message(session: Session, raw: bytes, message_id: str | None) -> Message | None:
    """A message already kept that is this one delivered again: the same bytes, or the same
    Message-ID and the same bytes apart from the trace headers servers add (Received, …).

    Two different messages that share a Message-ID (a careless mail program) are both kept.
    """
    connection = session.connection()
    exact = connection.execute(_BY_SHA256, {"sha": hashlib.sha256(raw).hexdigest()}).first()
    if exact is not None and exact.raw == raw:
        return session.get(Message, exact.id)
    if not message_id:
        return None
    candidates = connection.execute(_BY_MESSAGE_ID, {"mid": message_id[:998]}).all()
    if not candidates:  # the usual case: a new Message-ID, and no bytes to compare
        return None
    ours = without_trace(raw)
    again = next((row.id for row in candidates if row.raw and without_trace(row.raw) == ours), None)
    return session.get(Message, again) if again is not None else None


def seen_before(sessions: Sessions, source_key: str) -> Message | None:
    """`seen`, in a read of its own: after another writer won the race to store the same key."""
    with reading(sessions, "look up the message") as session:
        return seen(session, source_key)
