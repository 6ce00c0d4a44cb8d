"""Reads for the command line: items newest first, and one item with its whole history."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from intake.store.db import Session
from intake.store.models import Item

__all__ = ["get_item", "list_items"]


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
