"""Reads and small writes against the tables, kept apart from the pipeline that orders them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from intake.refs import format_ref
from intake.replykeys import key_from_address, verify_key
from intake.store.models import Item, Message, OutboxMessage, RefCounter, ReplyKey


def next_ref(session: Session, year: int) -> tuple[int, str]:
    """Take the next item number of the year atomically (safe with two instances on PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(RefCounter).values(year=year, last=0).on_conflict_do_nothing(index_elements=["year"]))
    number = session.execute(
        update(RefCounter).where(RefCounter.year == year).values(last=RefCounter.last + 1).returning(RefCounter.last)
    ).scalar_one()
    return number, format_ref(year, number)


def message_seen(session: Session, source_key: str) -> Message | None:
    """The message already taken in under this source key (an IMAP UID, say), if any."""
    return session.scalars(select(Message).where(Message.source_key == source_key)).first()


@dataclass(frozen=True)
class ReplyTarget:
    """The item a reply is about, how we know, and the reply key involved if any."""

    item_id: int
    matched_by: str  # "key" (plus-address) | "message-id" (In-Reply-To/References) | "subject" (ref tag)
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
        row = session.get(ReplyKey, key)
        if row is not None and verify_key(secret, key, row.item_id, row.email):
            return ReplyTarget(row.item_id, "key", row, f"reply key {key[:6]}…")
    return None


def item_for_message_ids(session: Session, message_ids: Sequence[str], our_domain: str) -> ReplyTarget | None:
    """The item whose mail we sent carries one of these Message-IDs (In-Reply-To/References), newest first."""
    ours = [m for m in message_ids if m.lower().endswith("@" + our_domain.lower())]
    if not ours:
        return None
    row = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.message_id.in_(ours), OutboxMessage.item_id.is_not(None))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()
    if row is None or row.item_id is None:
        return None
    key = session.scalars(select(ReplyKey).where(ReplyKey.outbox_id == row.id)).first()
    return ReplyTarget(row.item_id, "message-id", key, f"In-Reply-To/References <{row.message_id}>")


def item_for_ref(session: Session, ref: str) -> ReplyTarget | None:
    """The item named by a subject tag such as [SMAT-2026-0042]."""
    item_id = session.scalars(select(Item.id).where(Item.ref == ref.upper())).first()
    return ReplyTarget(item_id, "subject", None, f"the subject tag [{ref}]") if item_id is not None else None


def list_items(
    session: Session, status: str | None = None, kind: str | None = None, limit: int | None = None
) -> list[Item]:
    """Items newest first, optionally of one status or kind, with what `items --json` shows."""
    query = select(Item).options(selectinload(Item.attachments), selectinload(Item.events))
    if status:
        query = query.where(Item.status == status)
    if kind:
        query = query.where(Item.kind == kind)
    query = query.order_by(Item.received_at.desc(), Item.id.desc())
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def get_item(session: Session, ref: str) -> Item | None:
    """One item by its ref, case-insensitively, with its history loaded."""
    return session.scalars(
        select(Item)
        .where(Item.ref == ref.strip().upper())
        .options(selectinload(Item.attachments), selectinload(Item.events), selectinload(Item.messages))
    ).first()
