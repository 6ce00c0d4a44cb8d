"""The digest's queries: a period's facts in a fixed handful of statements, and the one-a-day record.

`gather` reads everything the Clerk's digest shows for [start, end) with one query per
section (joins, never a query per item). `record_digest` inserts the day's row in the
caller's transaction, beside the queued mail: the unique day refuses a second digest.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from intake.digest import (
    MAIL_WAIT,
    Counts,
    DecisionLine,
    DigestFacts,
    FlagLine,
    HeldLine,
    ItemLine,
    MailboxLine,
    MailLine,
)
from intake.digest import QuarantineLine as QLine
from intake.store import mailbox
from intake.store.db import Session
from intake.store.models import Digest, Event, Item, Message, OutboxMessage, utcnow
from intake.store.outbox import WAITING, Delivery, outbox_row
from intake.vocab import OPEN_DRAFT, EventKind, Kind, Status

if TYPE_CHECKING:  # the templates (Jinja) are not loaded just to name this type
    from intake.render import Outgoing

AWAITING = (*OPEN_DRAFT, Status.OPEN)
SUBMISSIONS = (Kind.DRAFT, Kind.REPORT, Kind.ENQUIRY)
AUTOMATIC = ("automatic", "own")  # classify.AUTOMATIC, classify.OWN
REPLY = "reply"  # classify.REPLY


def last_period_end(session: Session) -> datetime | None:
    """Where the last digest's period ended: the next one starts there."""
    return session.scalar(select(func.max(Digest.period_end)))


def sent_on(session: Session, day: date) -> Digest | None:
    """The digest already sent for this local day, if any."""
    return session.scalars(select(Digest).where(Digest.day == day)).first()


def gather(session: Session, start: datetime, end: datetime) -> DigestFacts:
    """Everything the digest shows for the period [start, end)."""
    return DigestFacts(
        start=start,
        end=end,
        counts=_counts(session, start, end),
        new_items=_items(
            session, (Item.received_at >= start, Item.received_at < end, Item.status != Status.QUARANTINED)
        ),
        pending=_items(session, (Item.status.in_(AWAITING),)),
        decisions=_decisions(session, start, end),
        flags=_high_flags(session, start, end),
        quarantined=_quarantined(session, start, end),
        still_quarantined=session.scalar(
            select(func.count()).select_from(Item).where(Item.status == Status.QUARANTINED)
        )
        or 0,
        mail=_mail(session, start, end),
        held=tuple(
            HeldLine(ref, sender, at)
            for ref, sender, at in _events(session, EventKind.ACK_HELD, start, end, Item.ref, Item.sender, Event.at)
        ),
        mailbox=tuple(
            MailboxLine(n.folder_key.split("/", 1)[-1], n.kind, n.detail, n.at)
            for n in mailbox.notes(session, start, end)
        ),
    )


def _counts(session: Session, start: datetime, end: datetime) -> Counts:
    """Every message received in the period, by classification; repeats are submissions a REPEAT line cites."""
    in_period = (Message.received_at >= start, Message.received_at < end)
    by_class: dict[str, int] = {
        classification: count
        for classification, count in session.execute(
            select(Message.classification, func.count()).where(*in_period).group_by(Message.classification)
        )
    }
    repeats = (
        session.scalar(
            select(func.count(func.distinct(Message.id)))
            .join(Event, Event.message_id == Message.id)
            .where(*in_period, Event.kind == EventKind.REPEAT_RECEIVED)
        )
        or 0
    )
    submissions = sum(by_class.get(kind, 0) for kind in SUBMISSIONS)
    return Counts(
        received=sum(by_class.values()),
        new_items=submissions - repeats,
        replies=by_class.get(REPLY, 0),
        automatic=sum(by_class.get(kind, 0) for kind in AUTOMATIC),
        quarantined=by_class.get(Status.QUARANTINED, 0),
        repeats=repeats,
    )


def _items(session: Session, where: tuple[Any, ...]) -> tuple[ItemLine, ...]:
    query = (
        select(Item.ref, Item.kind, Item.status, Item.subject, Item.sender, Item.received_at)
        .where(*where)
        .order_by(Item.received_at, Item.id)
    )
    return tuple(ItemLine(*row) for row in session.execute(query))


def _events(session: Session, kind: str, start: datetime, end: datetime, *columns: Any) -> list[Any]:
    """The chosen columns of the period's history lines of one kind, joined to their items, in order."""
    query = (
        select(*columns)
        .join(Item, Item.id == Event.item_id)
        .where(Event.kind == kind, Event.at >= start, Event.at < end)
        .order_by(Event.at, Event.id)
    )
    return list(session.execute(query))


def _decisions(session: Session, start: datetime, end: datetime) -> tuple[DecisionLine, ...]:
    """Every command recorded in the period: accepted ones are decisions, refused ones possible impostors."""
    rows = _events(session, EventKind.DECISION, start, end, Item.ref, Item.subject, Event.actor, Event.at, Event.data)
    lines = []
    for ref, subject, actor, at, data in rows:
        data = data or {}
        lines.append(
            DecisionLine(
                ref=ref,
                subject=subject,
                by=actor,
                at=at,
                command=str(data.get("command") or ""),
                argument=str(data.get("argument") or ""),
                accepted=bool(data.get("accepted")),
                reason=str(data.get("reason") or ""),
                new_status=data.get("new_status"),
            )
        )
    return tuple(lines)


def _high_flags(session: Session, start: datetime, end: datetime) -> tuple[FlagLine, ...]:
    """High flags on items awaiting a decision or received in the period."""
    query = (
        select(Item.ref, Item.subject, Item.flags)
        .where(or_(Item.status.in_(AWAITING), (Item.received_at >= start) & (Item.received_at < end)))
        .order_by(Item.received_at, Item.id)
    )
    return tuple(
        FlagLine(ref, subject, str(f.get("rule", "")), str(f.get("section", "")), str(f.get("excerpt", "")))
        for ref, subject, flags in session.execute(query)
        for f in flags or []
        if f.get("severity") == "high"
    )


def _quarantined(session: Session, start: datetime, end: datetime) -> tuple[QLine, ...]:
    """Messages quarantined in the period (new ones, and replies whose processing failed), with the reason."""
    query = (
        select(Item.ref, Message.sender, Message.subject, Message.reason, Message.received_at)
        .join(Item, Item.id == Message.item_id, isouter=True)
        .where(Message.classification == Status.QUARANTINED, Message.received_at >= start, Message.received_at < end)
        .order_by(Message.received_at, Message.id)
    )
    return tuple(
        QLine(ref or "", sender, subject, reason, at) for ref, sender, subject, reason, at in session.execute(query)
    )


def _mail(session: Session, start: datetime, end: datetime) -> tuple[MailLine, ...]:
    """Mail refused for good in the period, and mail still waiting to go after an hour."""
    query = (
        select(
            Item.ref,
            OutboxMessage.purpose,
            OutboxMessage.recipients,
            OutboxMessage.status,
            OutboxMessage.last_error,
            OutboxMessage.created_at,
            OutboxMessage.attempts,
        )
        .join(Item, Item.id == OutboxMessage.item_id, isouter=True)
        .where(
            or_(
                (OutboxMessage.status == Delivery.FAILED) & (OutboxMessage.created_at >= start),
                OutboxMessage.status.in_(WAITING) & (OutboxMessage.created_at < end - MAIL_WAIT),
            )
        )
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    return tuple(
        MailLine(ref or "", purpose, tuple(recipients or ()), status, error, created, attempts)
        for ref, purpose, recipients, status, error, created, attempts in session.execute(query)
    )


def record_digest(
    session: Session, day: date, start: datetime, end: datetime, mails: list[Outgoing], summary: str
) -> list[OutboxMessage]:
    """Record the day's digest and queue its mail, in the caller's transaction.

    The row is flushed first: if another instance has recorded this day, the unique day
    fails here (a StorageConflict when the transaction ends) and nothing is queued.
    """
    session.add(
        Digest(
            day=day,
            period_start=start,
            period_end=end,
            created_at=utcnow(),
            recipients=[r for out in mails for r in out.recipients],
            summary=summary,
        )
    )
    session.flush()
    rows = []
    for out in mails:
        # Mail about no item: the outbox row has no item and no history line (the digests table is its record).
        row = outbox_row(out, None)
        session.add(row)
        rows.append(row)
    session.flush()
    return rows
