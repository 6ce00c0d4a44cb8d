"""The digest's queries: a period's facts in a fixed handful of statements, and the one-a-day record.

`gather` reads everything the Clerk's digest shows for [start, end) with one query per
section (joins, never a query per item). `record_digest` inserts the day's row in the
caller's transaction, beside the queued mail: the unique day refuses a second digest.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, literal_column, select

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
    RosterLine,
)
from intake.digest import QuarantineLine as QLine
from intake.store import mailbox
from intake.store.db import Session
from intake.store.models import Digest, Event, Item, Member, Message, OutboxMessage, utcnow
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
        pending=_assigned(session, _items(session, (_rare(session, Item.status.in_(AWAITING)),), by_status=True)),
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
        roster_review=_roster_review(session),
    )


def _roster_review(session: Session) -> tuple[RosterLine, ...]:
    """The Deputy's urgent roster changes the Clerk has not confirmed yet."""
    rows = session.execute(
        select(Member.name, Member.email, Member.active, Member.added_by, Member.removed_by)
        .where(Member.awaiting_review.is_(True))
        .order_by(Member.id)
    )
    return tuple(
        RosterLine(name, email, active, added_by if active else removed_by)
        for name, email, active, added_by, removed_by in rows
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


def _items(session: Session, where: tuple[Any, ...], by_status: bool = False) -> tuple[ItemLine, ...]:
    """Items in order of arrival. `by_status`: sorted here, not by the database, whose planner would otherwise
    walk every item in date order (to save a sort) rather than look up the few undecided ones by status."""
    columns = (Item.ref, Item.kind, Item.status, Item.subject, Item.sender, Item.received_at)
    if by_status:
        rows = sorted(session.execute(select(*columns, Item.id).where(*where)), key=lambda r: (r[5], r[6]))
        return tuple(ItemLine(*row[:6]) for row in rows)
    query = select(*columns).where(*where).order_by(Item.received_at, Item.id)
    return tuple(ItemLine(*row) for row in session.execute(query))


def _assigned(session: Session, pending: tuple[ItemLine, ...]) -> tuple[ItemLine, ...]:
    """Open reports with whom each was last assigned to: one query over the decisions on open reports."""
    query = (
        select(Item.ref, Event.data)
        .join(Item, Item.id == Event.item_id)
        .where(Item.kind == Kind.REPORT, Item.status == Status.OPEN, Event.kind == EventKind.DECISION)
        .order_by(Event.id)
    )
    latest = {
        ref: str(data.get("assignee") or "")
        for ref, data in session.execute(query)
        if data and data.get("command") == "ASSIGN" and data.get("accepted")
    }
    return tuple(replace(i, assignee=latest[i.ref]) if i.ref in latest else i for i in pending)


def _rare(session: Session, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """A condition few rows meet (undecided items, mail not yet sent), said so to SQLite's planner.

    Its statistics (ANALYZE) keep only the average rows per status, which in a big history is
    thousands, so it would scan the table rather than use the status index; likelihood() tells it.
    """
    if session.get_bind().dialect.name == "sqlite":
        return func.likelihood(condition, literal_column("0.001"))
    return condition


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
    # Two indexed reads rather than one OR, which scans every item.
    columns = (Item.id, Item.received_at, Item.ref, Item.subject, Item.flags)
    awaiting = select(*columns).where(_rare(session, Item.status.in_(AWAITING)))
    found = {row[0]: row for row in session.execute(awaiting)}
    found |= {
        row[0]: row
        for row in session.execute(select(*columns).where(Item.received_at >= start, Item.received_at < end))
    }
    rows = sorted(found.values(), key=lambda r: (r[1], r[0]))
    return tuple(
        FlagLine(ref, subject, str(f.get("rule", "")), str(f.get("section", "")), str(f.get("excerpt", "")))
        for _, _, ref, subject, flags in rows
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
    columns = (
        Item.ref,
        OutboxMessage.purpose,
        OutboxMessage.recipients,
        OutboxMessage.status,
        OutboxMessage.last_error,
        OutboxMessage.created_at,
        OutboxMessage.attempts,
        OutboxMessage.id,
    )
    rows: list[Any] = []
    # Two reads through the (status, …) index rather than one OR, which scans every message ever sent.
    for where in (
        (_rare(session, OutboxMessage.status == Delivery.FAILED), OutboxMessage.created_at >= start),
        (_rare(session, OutboxMessage.status.in_(WAITING)), OutboxMessage.created_at < end - MAIL_WAIT),
    ):
        query = select(*columns).join(Item, Item.id == OutboxMessage.item_id, isouter=True).where(*where)
        rows.extend(session.execute(query))
    rows.sort(key=lambda r: (r[5], r[7]))
    return tuple(
        MailLine(ref or "", purpose, tuple(recipients or ()), status, error, created, attempts)
        for ref, purpose, recipients, status, error, created, attempts, _ in rows
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
        row = outbox_row(out, None, session)
        session.add(row)
        rows.append(row)
    session.flush()
    return rows
