"""The committee report's queries: a month's facts in three statements, and the once-a-month record.

`gather` reads what the monthly report shows for [start, end): the items received in it (the
index on items.received_at), the accepted decisions recorded in it (ix_events_kind_at), and the
reports from the public that were open at some time in it (items.kind and items.status). Each is
bounded by the month's own rows, never a query per item. `record_report` inserts the month's row
in the caller's transaction, beside the queued mail: the unique month refuses a second report.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from intake.monthly import ACTIONED
from intake.monthly_facts import DecisionFact, ItemFact, MonthFacts, ReportFact
from intake.store import accounts
from intake.store.db import Session
from intake.store.models import CommitteeReport, Event, Item, utcnow
from intake.store.outbox import outbox_row
from intake.vocab import FINAL, EventKind, Kind, Status

if TYPE_CHECKING:  # the templates (Jinja) are not loaded just to name this type
    from intake.render import Outgoing

CLOSED = (*FINAL, ACTIONED, Status.QUARANTINED)  # a report in none of these is still open


def sent_for(session: Session, month: date) -> CommitteeReport | None:
    """The report already sent for this month (its first day), if any."""
    return session.scalars(select(CommitteeReport).where(CommitteeReport.month == month)).first()


def gather(session: Session, month: date, start: datetime, end: datetime) -> MonthFacts:
    """Everything the monthly report shows for the month [start, end), with the account register."""
    register = accounts.registered(session)
    return MonthFacts(
        month=month,
        start=start,
        end=end,
        items=_items(session, start, end),
        decisions=_decisions(session, start, end),
        reports=_reports(session, start, end),
        accounts=tuple(account.label for account in register),
        register=register,
    )


def _items(session: Session, start: datetime, end: datetime) -> tuple[ItemFact, ...]:
    """Items received in the month, with their flags, in order of arrival."""
    query = (
        select(Item.ref, Item.kind, Item.subject, Item.received_at, Item.flags, Item.status)
        .where(Item.received_at >= start, Item.received_at < end)
        .order_by(Item.received_at, Item.id)
    )
    return tuple(
        ItemFact(
            ref,
            kind,
            subject,
            received_at,
            tuple((str(f.get("rule", "")), str(f.get("section", "")), str(f.get("severity", ""))) for f in flags or []),
            quarantined=status == Status.QUARANTINED,
        )
        for ref, kind, subject, received_at, flags, status in session.execute(query)
    )


def _decisions(session: Session, start: datetime, end: datetime) -> tuple[DecisionFact, ...]:
    """Accepted commands recorded in the month, on any item, in order; refused ones change nothing and are left out."""
    query = (
        select(Item.ref, Item.kind, Item.subject, Item.received_at, Event.actor, Event.at, Event.data)
        .join(Item, Item.id == Event.item_id)
        .where(Event.kind == EventKind.DECISION, Event.at >= start, Event.at < end)
        .order_by(Event.at, Event.id)
    )
    facts = []
    for ref, kind, subject, received_at, actor, at, data in session.execute(query):
        data = data or {}
        if not data.get("accepted"):
            continue
        facts.append(
            DecisionFact(
                ref=ref,
                kind=kind,
                subject=subject,
                item_received_at=received_at,
                by=actor,
                at=at,
                command=str(data.get("command") or ""),
                argument=str(data.get("argument") or ""),
                new_status=str(data.get("new_status") or ""),
            )
        )
    return tuple(facts)


def _reports(session: Session, start: datetime, end: datetime) -> tuple[ReportFact, ...]:
    """Reports from the public that arrived before the month's end and were still open at its start."""
    query = (
        select(Item.ref, Item.subject, Item.received_at, Item.status, Item.decided_at, Item.decided_by)
        .where(
            Item.kind == Kind.REPORT,
            Item.received_at < end,
            or_(Item.status.not_in(CLOSED), (Item.status == ACTIONED) & (Item.decided_at >= start)),
        )
        .order_by(Item.received_at, Item.id)
    )
    return tuple(
        ReportFact(
            ref, subject, received_at, decided_at if status == ACTIONED else None, by if status == ACTIONED else ""
        )
        for ref, subject, received_at, status, decided_at, by in session.execute(query)
    )


def record_report(session: Session, month: date, mails: list[Outgoing], summary: str) -> None:
    """Record the month's report and queue its mail, in the caller's transaction.

    The row is flushed first: if another instance has recorded this month, the unique month
    fails here (a StorageConflict when the transaction ends) and nothing is queued.
    """
    session.add(
        CommitteeReport(
            month=month, created_at=utcnow(), recipients=[r for out in mails for r in out.recipients], summary=summary
        )
    )
    session.flush()
    for out in mails:
        # Mail about no item: the outbox row has no item and no history line (committee_reports is its record).
        session.add(outbox_row(out, None))
    session.flush()
