"""The tables kept beside the mail: the SMAT roster and account register with their audit, emailed roster
requests, committee reports sent, erasures, service health marks, mailbox notes and intake attempts.

Mapped on the same Base as intake.store.models, which re-exports them; the migrations create them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from intake.store.models import Base, UTCDateTime, utcnow


class Member(Base):
    """One person on the roster (policy 6.2), seeded from [[people]], then kept here.

    A removed member stays as a row with `active` false, so their name still reads in the
    history; `awaiting_review` marks a change the Deputy Clerk made until the Clerk confirms it.
    """

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(320))
    email: Mapped[str] = mapped_column(String(320), unique=True)  # lower case
    role: Mapped[str] = mapped_column(String(16))  # vocab.ROSTER_ROLES
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    other_addresses: Mapped[list[str]] = mapped_column(JSON, default=list)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # the latest (re)joining
    added_by: Mapped[str] = mapped_column(String(320), default="")
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by: Mapped[str] = mapped_column(String(320), default="")
    awaiting_review: Mapped[bool] = mapped_column(Boolean, default=False)


class SocialAccount(Base):
    """One of the council's social media accounts (policy 6.2): where a POSTED draft may go out."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("platform", "handle", name="uq_accounts_platform_handle"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    handle: Mapped[str] = mapped_column(String(320))
    url: Mapped[str] = mapped_column(String(2000), default="")
    administered_by: Mapped[str] = mapped_column(String(320), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    added_by: Mapped[str] = mapped_column(String(320), default="")
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by: Mapped[str] = mapped_column(String(320), default="")


class RosterRequest(Base):
    """A roster change asked for by email, waiting for the keyed CONFIRM that makes it (or made by it).

    `key_digest` is the digest of the key in the confirmation mail's Reply-To, bound to the
    person who must confirm (`confirmer`): a From header alone never changes the roster.
    """

    __tablename__ = "roster_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(16))  # added | removed | reviewed
    name: Mapped[str] = mapped_column(String(320), default="")
    email: Mapped[str] = mapped_column(String(320))  # the member the change is about
    requested_by: Mapped[str] = mapped_column(String(320))  # the From of the command (unproven)
    confirmer: Mapped[str] = mapped_column(String(320))  # the roster address the key was sent to
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))  # the command as received
    state: Mapped[str] = mapped_column(String(16), default="pending")  # vocab.RequestState
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditLine(Base):
    """One line of the append-only record of roster and account-register changes: who, what, when, how."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    area: Mapped[str] = mapped_column(String(16))  # vocab.AuditArea
    action: Mapped[str] = mapped_column(String(16))  # vocab.RosterAction
    actor: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(2000), default="")  # the member's address, the account
    detail: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))


class CommitteeReport(Base):
    """One monthly committee report per month: the unique month is what stops a second one being sent.

    Inserted in the transaction that queues the report's mail, as the digests are, so a restart
    or a second instance that built the same month's report fails on the month and queues nothing.
    """

    __tablename__ = "committee_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[date] = mapped_column(Date, unique=True)  # its first day
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    summary: Mapped[str] = mapped_column(Text, default="")  # the opening sentence, as sent


class Erasure(Base):
    """One erasure of personal data (retention or a person's request), on record without naming the person.

    While `is_open` is true inside the erasing transaction, history lines may be blanked (never
    deleted); the database refuses every other change to them (migration 0012).
    """

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reason: Mapped[str] = mapped_column(String(16))  # retention | request
    is_open: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # counts and refs, no address


class ServiceMark(Base):
    """When something last went right (an IMAP pass, an outbox delivery), for `smat-intake status`."""

    __tablename__ = "service_marks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    detail: Mapped[str] = mapped_column(Text, default="")


class MailboxNote(Base):
    """Something the mailbox's server did that the Clerk should hear of (a folder renumbered), for the digest."""

    __tablename__ = "mailbox_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    folder_key: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")


class IntakeAttempt(Base):
    """A message whose processing was started and has not finished: counted before each try, so that
    one that kills the process every time is quarantined after a few tries instead of looping."""

    __tablename__ = "intake_attempts"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)  # of the raw bytes
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    source_key: Mapped[str | None] = mapped_column(String(512))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
