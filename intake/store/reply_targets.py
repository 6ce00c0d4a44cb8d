"""Which item a reply is about (threading): by reply key, by our Message-ID, or by the ref in its subject."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from intake.replykeys import key_digest, key_from_address, verify_key
from intake.store.db import Session
from intake.store.models import Item, OutboxMessage, ReplyKey
from intake.vocab import MatchedBy


@dataclass(frozen=True)
class ReplyTarget:
    """The item a reply is about, how we know, and the reply key involved if any."""

    item_id: int
    matched_by: MatchedBy
    key: ReplyKey | None
    detail: str


def item_for_reply_key(
    session: Session, secret: bytes, addresses: Iterable[str], our_address: str
) -> ReplyTarget | None:
    """The item a plus-address reply key points at, if one of the addresses carries a valid key."""
    for address in addresses:
        key = key_from_address(address, our_address)
        if key is None:
            continue
        row = session.get(ReplyKey, key_digest(key))
        if row is not None and verify_key(secret, key, row.item_id, row.email):
            return ReplyTarget(row.item_id, MatchedBy.KEY, row, f"reply key {key[:6]}…")
    return None


def item_for_message_ids(session: Session, message_ids: Sequence[str], our_domain: str) -> ReplyTarget | None:
    """The item whose mail we sent carries one of these Message-IDs (In-Reply-To/References), newest first."""
    ours = [m for m in message_ids if m.lower().endswith("@" + our_domain.lower())]
    if not ours:
        return None
    row = session.execute(  # the columns only: not the message itself
        select(OutboxMessage.id, OutboxMessage.item_id, OutboxMessage.message_id)
        .where(OutboxMessage.message_id.in_(ours), OutboxMessage.item_id.is_not(None))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()
    if row is None or row.item_id is None:
        return None
    key = session.scalars(select(ReplyKey).where(ReplyKey.outbox_id == row.id)).first()
    return ReplyTarget(row.item_id, MatchedBy.MESSAGE_ID, key, f"In-Reply-To/References <{row.message_id}>")


def item_for_ref(session: Session, ref: str) -> ReplyTarget | None:
    """The item named by a subject tag such as [SMAT-2026-0042]."""
    item_id = session.scalars(select(Item.id).where(Item.ref == ref.upper())).first()
    return ReplyTarget(item_id, MatchedBy.SUBJECT, None, f"the subject tag [{ref}]") if item_id is not None else None
