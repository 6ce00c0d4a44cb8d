"""Small writes every pipeline step makes: a history line, a message in the outbox, a reply key.

They take the caller's session, so each lands in the same transaction as the change that
caused it (the transactional outbox).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from intake.render import Outgoing
from intake.replykeys import new_key
from intake.store.models import Event, Item, Message, OutboxMessage, ReplyKey, utcnow


def add_event(
    session: Session, item: Item, kind: str, actor: str, detail: str, row: Message | None = None, **data: object
) -> Event:
    """Append one line to the item's history (the table refuses changes and deletions)."""
    event = Event(item_id=item.id, at=utcnow(), actor=actor, kind=kind, detail=detail, data=data, message_id=row.id if row else None)
    session.add(event)
    return event


def queue_mail(session: Session, item: Item, out: Outgoing, event_kind: str) -> OutboxMessage:
    """Put a rendered message in the outbox and note it in the item's history."""
    row = OutboxMessage(
        item_id=item.id,
        purpose=out.purpose,
        message_id=out.message_id,
        mail_from=out.mail_from,
        recipients=list(out.recipients),
        raw=out.raw,
        status="pending",
        created_at=utcnow(),
        next_attempt_at=utcnow(),
    )
    session.add(row)
    session.flush()
    add_event(session, item, event_kind, "smat-intake", f"{out.purpose} to {', '.join(out.recipients)}", outbox_id=row.id)
    return row


def new_reply_key(secret: bytes, item: Item, email: str) -> str:
    """A fresh key for this item and person (recorded by `record_reply_key` once the mail is queued)."""
    return new_key(secret, item.id, email)


def record_reply_key(session: Session, key: str, item: Item, email: str, purpose: str, outbox: OutboxMessage) -> None:
    """Remember which item, person and message a key was issued with."""
    session.add(ReplyKey(key=key, item_id=item.id, email=email.lower(), purpose=purpose, issued_at=utcnow(), outbox_id=outbox.id))
