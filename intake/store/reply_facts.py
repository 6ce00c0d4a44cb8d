"""The reads and writes the reply step needs: an item's decision state, its keys, threads and pictures.

The reply step loads these facts, lets `decisions.decide` rule, and saves the change here;
only this module knows they are rows and columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from intake.decisions import Change, ItemState
from intake.files import listing
from intake.store.db import Session
from intake.store.models import Attachment, Blob, Event, Item, Message, OutboxMessage, ReplyKey, utcnow
from intake.vocab import EventKind


def load_state(item: Item) -> ItemState:
    """The item as the rules see it, from its decision columns."""
    return ItemState(
        ref=item.ref,
        kind=item.kind,
        status=item.status,
        sender=item.sender,
        sender_name=item.sender_name,
        approvals=tuple(item.approvals or ()),
        high_flags=any(flag.get("severity") == "high" for flag in (item.flags or [])),
        decided_by=item.decided_by,
        decided_at=item.decided_at,
        status_before_query=item.status_before_query,
        revision=item.revision,
    )


def key_uses(session: Session, key: ReplyKey | None) -> frozenset[str]:
    """The commands a reply key has already decided (each may be used once per key).

    Read again from the database: the key was found before the item was locked, and
    another instance may have used it for a decision since.
    """
    if key is None:
        return frozenset()
    session.refresh(key, attribute_names=["used_for"])
    return frozenset(key.used_for or ())


def recent_refusals(session: Session, item: Item, email: str, since: datetime) -> frozenset[str]:
    """The reasons this person's commands on this item were refused for since `since`."""
    events = session.scalars(
        select(Event).where(
            Event.item_id == item.id, Event.kind == EventKind.DECISION, Event.actor == email, Event.at > since
        )
    )
    return frozenset(e.data.get("reason", "") for e in events if not e.data.get("accepted"))


def save_change(session: Session, item: Item, key: ReplyKey | None, change: Change, at: datetime) -> None:
    """Write what a decision changed into the item (and its reply key); `at` is its history line's time."""
    if not change.touched:
        return
    if change.status is not None:
        item.status = change.status
    if change.kind is not None:
        item.kind = change.kind
    if change.text is not None:
        item.text = change.text
    if change.approvals is not None:
        item.approvals = list(change.approvals)
    if change.decided_by is not None:
        item.decided_by, item.decided_at = change.decided_by, at
    if change.status_before_query is not None:
        item.status_before_query = change.status_before_query
    if change.revision is not None:
        item.revision = change.revision
    if change.key_spent_for is not None and key is not None and change.key_spent_for not in (key.used_for or []):
        key.used_for = [*(key.used_for or []), change.key_spent_for]
    item.updated_at = utcnow()


def bind_key_to_revision(session: Session, outbox_id: int, revision: int) -> None:
    """Tie the reply key queued with the mail of this outbox row to the text revision it was sent with."""
    for key in session.scalars(select(ReplyKey).where(ReplyKey.outbox_id == outbox_id)):
        key.revision = revision


def holder_by_message_id(session: Session, item: Item, message_ids: list[str]) -> str | None:
    """Who our newest mail about this item with one of these Message-IDs went to, if to one person.

    A reply threaded under mail we sent without a reply key (the acknowledgement) is tied to
    its recipient this way: our Message-ID is the key of that mail.
    """
    if not message_ids:
        return None
    recipients = session.scalars(
        select(OutboxMessage.recipients)
        .where(OutboxMessage.item_id == item.id, OutboxMessage.message_id.in_(message_ids))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()
    return recipients[0].lower() if recipients and len(recipients) == 1 else None


def thread_for(session: Session, item: Item, recipient: str) -> str | None:
    """The Message-ID of the newest mail we sent this person about this item, to thread under."""
    rows = session.execute(
        select(OutboxMessage.message_id, OutboxMessage.recipients)  # not the raw bytes: they carry the photos
        .where(OutboxMessage.item_id == item.id)
        .order_by(OutboxMessage.id.desc())
    )
    for message_id, recipients in rows:
        if recipient.lower() in (r.lower() for r in recipients):
            return str(message_id)
    return None


def first_message_id(session: Session, item: Item) -> str | None:
    """The Message-ID of the message the item came in by."""
    return session.scalars(
        select(Message.message_id).where(Message.item_id == item.id).order_by(Message.id).limit(1)
    ).first()


def file_listing(session: Session, item: Item) -> list[dict[str, object]]:
    """The item's files as a review request lists them: attached as our copy, withheld with the reason, or kept."""
    return listing(
        session.scalars(select(Attachment).where(Attachment.item_id == item.id).order_by(Attachment.id)).all()
    )


@dataclass(frozen=True)
class PreparedPicture:
    """A picture's prepared copy as our mail carries it: our name, its type, its bytes, what was done to it."""

    filename: str
    content_type: str
    data: bytes
    note: str
    sha256: str = ""  # of `data`: the blob it is kept as


def pictures(session: Session, item: Item) -> list[PreparedPicture]:
    """The prepared copies of the item's pictures that our mail carries, in the order they came.

    Never the original bytes or the sender's name: only what the picture path re-encoded and
    what fitted the per-mail limit when the item came in (the review request carried the same).
    """
    return _sent(session, item, prepared=True)


def documents(session: Session, item: Item) -> list[PreparedPicture]:
    """The ordinary documents (PDF, macro-free Office, text) a review request carries as they came, by our name."""
    return _sent(session, item, prepared=False)


def _sent(session: Session, item: Item, prepared: bool) -> list[PreparedPicture]:
    """What our mail carries of the item's files, pictures' copies or documents, with their bytes kept once."""
    rows = session.execute(
        select(Attachment, Blob.data)
        .join(Blob, Blob.sha256 == Attachment.sent_sha256)
        .where(Attachment.item_id == item.id, Attachment.attach.is_(True), Attachment.prepared.is_(prepared))
        .order_by(Attachment.id)
    )
    default = "picture" if prepared else ""
    return [
        PreparedPicture(
            a.prepared_name or default, a.prepared_type or "application/octet-stream", data, a.note, a.sent_sha256 or ""
        )
        for a, data in rows
        if a.prepared_name or prepared
    ]
