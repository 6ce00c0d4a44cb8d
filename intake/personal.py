"""Retention and erasure as the service runs them: whose data, which period, one transaction each.

The store (`intake.store.personal_data`) finds and erases; this module decides for whom and
since when, from the settings, and records each erasure without naming the person.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from intake.config import Settings
from intake.config.addresses import untagged
from intake.errors import IntakeError
from intake.store.db import Sessions
from intake.store.models import utcnow
from intake.store.personal_data import (
    ErasureReport,
    Held,
    Person,
    apply_retention,
    close_erasure,
    due_for_retention,
    erase_held,
    find_held,
    open_erasure,
)
from intake.store.unit import reading, transaction

DAYS_PER_MONTH = 30.44  # a month of retention, on average; a day either way does not matter here


def person_for(settings: Settings, address: str) -> Person:
    """Everyone `address` is: a roster member's every address, else that mailbox with any sub-address tag."""
    wanted = address.strip().lower()
    if "@" not in wanted or wanted.startswith("@") or wanted.endswith("@"):
        raise IntakeError(f"--sender {address!r} is not an email address such as jane@example.com.")
    if settings.is_ours(wanted):
        raise IntakeError(f"{address} is the intake mailbox itself, not a person.")
    member = settings.person(wanted)
    addresses = tuple(a.lower() for a in member.addresses) if member else (wanted, untagged(wanted))
    domains = tuple(sorted({a.rsplit("@", 1)[1] for a in addresses}))
    return Person(
        matches=lambda other: bool(other.strip()) and settings.same_person(other, wanted),
        domains=domains,
        addresses=tuple(dict.fromkeys(addresses)),
    )


def gather(settings: Settings, sessions: Sessions, address: str) -> Held:
    """Everything held about the person with this address (for a subject access request)."""
    person = person_for(settings, address)
    with reading(sessions, "find what is held about the person") as session:
        held = find_held(session, person)
        for item in held.items:  # everything the export reads, loaded before the session closes
            _ = [row.raw for row in item.messages], [a.data for a in item.attachments], item.events
        _ = [row.raw for row in held.outbox], [row.item for row in held.messages], [e.item for e in held.events]
    return held


def erase_person(settings: Settings, sessions: Sessions, address: str) -> ErasureReport:
    """Erase what is held about the person, except public record, in one transaction; say what was kept."""
    person = person_for(settings, address)
    with transaction(sessions, "erase the person's data") as session:
        erasure = open_erasure(session, "request")
        report = erase_held(session, person, find_held(session, person), "at the person's request (UK GDPR Art. 17)")
        close_erasure(session, erasure, report)
    return report


def retention_cutoff(settings: Settings, now: datetime | None = None) -> datetime:
    """Items last changed before this, and never published, are due for erasure."""
    return (now or utcnow()) - timedelta(days=settings.retention.unpublished_months * DAYS_PER_MONTH)


def run_retention(settings: Settings, sessions: Sessions, apply: bool, now: datetime | None = None) -> ErasureReport:
    """Erase (or, without `apply`, count) the personal data retention says has been kept long enough."""
    months = settings.retention.unpublished_months
    why = f"kept {months} months without being published ([retention] unpublished_months)"
    cutoff = retention_cutoff(settings, now)
    if not apply:
        with reading(sessions, "find what retention would erase") as session:
            due = due_for_retention(session, cutoff)
            return ErasureReport(erased_items=[item.ref for item in due.items], messages=len(due.messages))
    with transaction(sessions, "apply the retention period") as session:
        due = due_for_retention(session, cutoff)
        if not due.items and not due.messages:
            return ErasureReport()
        erasure = open_erasure(session, "retention")
        report = apply_retention(session, due, why)
        close_erasure(session, erasure, report)
    return report
