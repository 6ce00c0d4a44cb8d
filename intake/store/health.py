"""What `status` reads besides logins: the last good IMAP pass and delivery, the outbox, quarantine.

`record_mark` is written by the running service after each successful pass and delivery, so
that a monitoring probe in another process can tell a live service from a stuck one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from intake.store.db import Session
from intake.store.models import Item, OutboxMessage, ServiceMark, utcnow
from intake.store.outbox import WAITING, Delivery
from intake.vocab import Status

POLL = "poll"  # the last IMAP pass that completed
DELIVERY = "delivery"  # the last outbox drain the relay did not fail


@dataclass(frozen=True)
class Mark:
    """When something last went right, and a few words on it."""

    at: datetime
    detail: str


@dataclass(frozen=True)
class Health:
    """The facts `status` judges."""

    marks: dict[str, Mark]
    waiting: int  # outgoing mail not yet sent (pending or being sent)
    oldest_waiting: datetime | None  # when the oldest of it was queued
    failed_recently: int  # mail that could not be delivered, in the window
    quarantined: int  # quarantined messages held
    quarantined_recently: list[str]  # their refs, newest first, in the window


def record_mark(session: Session, name: str, detail: str = "", at: datetime | None = None) -> None:
    """Remember that `name` (POLL, DELIVERY) just went right."""
    mark = session.get(ServiceMark, name)
    when = at or utcnow()
    if mark is None:
        session.add(ServiceMark(name=name, at=when, detail=detail))
    else:
        mark.at, mark.detail = when, detail


def read_health(session: Session, window: timedelta, now: datetime | None = None) -> Health:
    """The marks, the outbox and the quarantine, with `window` the recent past that needs attention."""
    since = (now or utcnow()) - window
    marks = {row.name: Mark(row.at, row.detail) for row in session.scalars(select(ServiceMark))}
    waiting, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.status.in_(WAITING))
    ).one()
    failed = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == Delivery.FAILED, OutboxMessage.created_at >= since)
    )
    quarantined = session.scalar(select(func.count()).select_from(Item).where(Item.status == Status.QUARANTINED))
    recent = session.scalars(
        select(Item.ref)
        .where(Item.status == Status.QUARANTINED, Item.received_at >= since)
        .order_by(Item.received_at.desc(), Item.id.desc())
    ).all()
    if isinstance(oldest, str):  # should min() ever bypass the column type on SQLite
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return Health(marks, int(waiting), oldest, int(failed or 0), int(quarantined or 0), list(recent))
