"""Small writes every pipeline step makes: a history line, a message in the outbox, a reply key.

They take the caller's session, so each lands in the same transaction as the change that
caused it (the transactional outbox).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from intake.render import Composer, Outgoing, Recipient
from intake.replykeys import new_key, plus_address
from intake.store.models import Event, Item, Message, OutboxMessage, ReplyKey, utcnow


def add_event(
    session: Session, item: Item, kind: str, actor: str, detail: str, row: Message | None = None, **data: object
) -> Event:
    """Append one line to the item's history (the table refuses changes and deletions)."""
    event = Event(
        item_id=item.id,
        at=utcnow(),
        actor=actor,
        kind=kind,
        detail=detail,
        data=data,
        message_id=row.id if row else None,
    )
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
    add_event(
        session, item, event_kind, "smat-intake", f"{out.purpose} to {', '.join(out.recipients)}", outbox_id=row.id
    )
    return row


def queue_keyed_mail(
    session: Session,
    composer: Composer,
    secret: bytes,
    item: Item,
    to: Recipient,
    purpose: str,
    context: dict[str, Any],
    event_kind: str,
    **compose_options: Any,
) -> OutboxMessage:
    """Queue mail to one person whose Reply-To carries a fresh key bound to them and this item.

    The key is also in the context (`reply_key`), and recorded with the outbox row, so a
    reply by plus-address or by In-Reply-To leads back to both the person and the item.
    """
    key = new_key(secret, item.id, to.email)
    out = composer.compose(
        purpose,
        to,
        {**context, "reply_key": key},
        ref=item.ref,
        reply_to=plus_address(composer.from_address, key),
        **compose_options,
    )
    row = queue_mail(session, item, out, event_kind)
    session.add(
        ReplyKey(
            key=key, item_id=item.id, email=to.email.lower(), purpose=purpose, issued_at=utcnow(), outbox_id=row.id
        )
    )
    return row
