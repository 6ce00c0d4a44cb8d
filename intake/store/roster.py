"""The SMAT roster as the database holds it: THE one place the service reads who is who.

The config's [[people]] is only the seed: `seed` copies it into an empty table (at `init`,
or on the first message), and from then on `roster_settings` hands every reader a Settings
whose `people` are the database's. Every change is audited (`store.audit`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from intake.config import Person, Settings, untagged
from intake.errors import IntakeError
from intake.store.audit import audit
from intake.store.db import Session
from intake.store.models import Member, utcnow
from intake.vocab import AuditArea, RosterAction

CONFIG_SEED = "config file"  # the actor of seeded lines


class RosterError(IntakeError):
    """A roster change that cannot be made (not on the roster, already on it)."""


def is_empty(session: Session) -> bool:
    """Whether the roster has not been seeded yet."""
    return not session.scalar(select(func.count()).select_from(Member))


def members(session: Session) -> Sequence[Member]:
    """Everyone on the roster, past and present, active first, then by role and name."""
    return session.scalars(select(Member).order_by(Member.active.desc(), Member.role, Member.name)).all()


def people(session: Session) -> tuple[Person, ...]:
    """The roster as the rules read it: one `Person` per member, in the order they were added."""
    session.flush()  # members added or changed in this transaction are read too
    return tuple(_person(row) for row in session.connection().execute(_PEOPLE))


# Built once: the roster is read for every message (a change by another process shows at once).
_PEOPLE = select(*Member.__table__.columns).order_by(Member.id)


def roster_settings(session: Session, settings: Settings) -> Settings:
    """The settings with the database's roster; the config's own while the table is empty (never seeded)."""
    found = people(session)
    if not found or found == settings.people:
        return settings
    return dataclasses.replace(settings, people=found)


def drift(session: Session, settings: Settings) -> tuple[str, ...]:
    """Addresses whose [[people]] entry no longer says what the database's roster says (role, active).

    Editing the config after the roster was seeded changes nothing; `run` says so in the log.
    """
    found = {p.email.lower(): p for p in people(session)}
    if not found:
        return ()
    return tuple(
        p.email.lower()
        for p in settings.people
        if (held := found.get(p.email.lower())) is None or (held.role, held.active) != (p.role, p.active)
    )


def seed(session: Session, settings: Settings) -> int:
    """Copy [[people]] into an empty roster, auditing each; how many were added (0 if already seeded)."""
    if not is_empty(session):
        return 0
    for person in settings.people:
        session.add(
            Member(
                name=person.name,
                email=person.email.lower(),
                role=person.role,
                active=person.active,
                other_addresses=list(person.other_addresses),
                added_at=utcnow(),
                added_by=CONFIG_SEED,
                removed_by="",
                awaiting_review=False,
            )
        )
        audit(session, AuditArea.ROSTER, RosterAction.SEEDED, CONFIG_SEED, person.email.lower(), _label(person))
    session.flush()
    return len(settings.people)


def find(session: Session, email: str) -> Member | None:
    """The member with this address (any of theirs; case and sub-address tag aside), active or not."""
    wanted = untagged(email)
    for row in session.scalars(select(Member).order_by(Member.id)):
        if any(untagged(a) == wanted for a in (row.email, *row.other_addresses)):
            return row
    return None


def add_member(
    session: Session,
    settings: Settings,
    name: str,
    email: str,
    role: str,
    actor: str,
    *,
    awaiting_review: bool = False,
    message_id: int | None = None,
    how: str = "",
) -> Member:
    """Put someone on the roster (or back on it), audited; RosterError if they are on it already."""
    seed(session, settings)
    email = email.strip().lower()
    row = find(session, email)
    now = utcnow()
    if row is not None and row.active:
        raise RosterError(f"{row.name} <{row.email}> is already on the roster ({row.role})")
    if row is None:
        row = Member(name=name, email=email, role=role, other_addresses=[], removed_by="")
        session.add(row)
    row.name, row.role, row.active = name or row.name, role, True
    row.added_at, row.added_by, row.removed_at, row.removed_by = now, actor, None, ""
    row.awaiting_review = awaiting_review
    detail = f"{row.name} as {role}" + (f"; {how}" if how else "")
    audit(session, AuditArea.ROSTER, RosterAction.ADDED, actor, row.email, detail, message_id)
    session.flush()
    return row


def remove_member(
    session: Session,
    settings: Settings,
    email: str,
    actor: str,
    *,
    awaiting_review: bool = False,
    message_id: int | None = None,
    how: str = "",
) -> Member:
    """Take someone off the roster, audited: every reply key they hold stops working at once."""
    seed(session, settings)
    row = find(session, email)
    if row is None or not row.active:
        raise RosterError(f"{email.strip().lower()} is not an active member of the roster")
    row.active, row.removed_at, row.removed_by = False, utcnow(), actor
    row.awaiting_review = awaiting_review
    detail = f"{row.name} ({row.role})" + (f"; {how}" if how else "")
    audit(session, AuditArea.ROSTER, RosterAction.REMOVED, actor, row.email, detail, message_id)
    session.flush()
    return row


def awaiting_review(session: Session) -> Sequence[Member]:
    """Changes the Deputy Clerk made that the Clerk has not yet confirmed, oldest first."""
    return session.scalars(select(Member).where(Member.awaiting_review.is_(True)).order_by(Member.id)).all()


def mark_reviewed(session: Session, email: str, actor: str, message_id: int | None = None) -> Member | None:
    """The Clerk confirmed the Deputy's change to this member: it leaves the digest's review list."""
    row = find(session, email)
    if row is None or not row.awaiting_review:
        return None
    row.awaiting_review = False
    audit(session, AuditArea.ROSTER, RosterAction.REVIEWED, actor, row.email, "the Clerk confirmed it", message_id)
    return row


def _person(row: Any) -> Person:
    """A member's row (an ORM object or a plain row) as the rules read it."""
    return Person(
        name=row.name,
        email=row.email,
        role=row.role,
        active=row.active,
        other_addresses=tuple(row.other_addresses or ()),
        since=None if row.added_by == CONFIG_SEED else row.added_at,  # seeding voids no key already out
    )


def _label(person: Person) -> str:
    return f"{person.name} as {person.role}" + ("" if person.active else " (inactive)")
