"""The tables: raw messages, items, their append-only history, attachments, the outbox.

The schema itself is created by the Alembic migrations in `migrations/`; these classes
must match them (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (stored as UTC everywhere)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored as UTC and always read back timezone-aware, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Message(Base):
    """One message exactly as received: the raw bytes are kept, they may become public record."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_received_at", "received_at"),)  # the digest counts a period's mail

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # imap | smtp | lmtp | file
    source_key: Mapped[str | None] = mapped_column(String(512), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    # draft | report | enquiry | reply | automatic | own | quarantined
    classification: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)

    item: Mapped[Item | None] = relationship(back_populates="messages")


class Item(Base):
    """A draft, report or enquiry in the review queue, known by its ref (SMAT-2026-0042)."""

    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("year", "number", name="uq_items_year_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # draft | report | enquiry
    status: Mapped[str] = mapped_column(String(16), index=True)
    sender: Mapped[str] = mapped_column(String(320), default="")
    sender_name: Mapped[str] = mapped_column(String(320), default="")
    sender_role: Mapped[str] = mapped_column(String(16), default="public")
    subject: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    quarantine_reason: Mapped[str] = mapped_column(Text, default="")
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The decision state the rules read (intake.decisions.ItemState), kept as each reply is decided:
    approvals: Mapped[list[str]] = mapped_column(JSON, default=list)  # who approved the current text
    decided_by: Mapped[str] = mapped_column(String(320), default="")  # who settled the present status
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # and when
    status_before_query: Mapped[str] = mapped_column(String(16), default="in_review")  # where an answer returns it
    revision: Mapped[int] = mapped_column(Integer, default=1)  # the text's version: each EDIT starts a new one

    messages: Mapped[list[Message]] = relationship(back_populates="item", order_by="Message.id")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="item", order_by="Attachment.id")
    events: Mapped[list[Event]] = relationship(back_populates="item", order_by="Event.id")


class Attachment(Base):
    """A file that came with an item; kept under a generated name, never the sender's."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))  # for display only
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    content_id: Mapped[str | None] = mapped_column(String(998))
    origin: Mapped[str] = mapped_column(String(16), default="part")
    data: Mapped[bytes] = mapped_column(LargeBinary)  # exactly as received
    # What its content proved it to be (intake.pictures), never what the sender declared:
    content_format: Mapped[str] = mapped_column(String(64), default="")  # 'JPEG', 'Windows program', 'PDF', ...
    withheld: Mapped[bool] = mapped_column(Boolean, default=False)  # never sent on: the note says why
    note: Mapped[str] = mapped_column(Text, default="")  # the sentence reviewers read about it
    # A picture's re-encoded copy (no metadata, upright, scaled, our name): the only bytes we send on.
    prepared_name: Mapped[str | None] = mapped_column(String(255))
    prepared_type: Mapped[str | None] = mapped_column(String(255))
    prepared_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    attach: Mapped[bool] = mapped_column(Boolean, default=False)  # the prepared copy fits the per-mail limit

    item: Mapped[Item] = relationship(back_populates="attachments")


class Event(Base):
    """One line of an item's append-only history: who did what, when, and why."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_kind_at", "kind", "at"),)  # the digest reads a period's lines of a kind

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(320), default="")
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))

    item: Mapped[Item] = relationship(back_populates="events")


class OutboxMessage(Base):
    """Mail waiting to go, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(998), unique=True)  # ours, without <>
    mail_from: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    # pending | sending | sent | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    refused: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    # The bytes live in their own table: every change of status would otherwise rewrite
    # a row holding the whole message, photos and all (SQLite rewrites the full record).
    body: Mapped[OutboxBody] = relationship(
        cascade="all, delete-orphan", single_parent=True, lazy="joined", innerjoin=True
    )

    @property
    def raw(self) -> bytes:
        """The complete message as it will be sent."""
        return self.body.raw

    @raw.setter
    def raw(self, value: bytes) -> None:
        self.body = OutboxBody(raw=value)


class OutboxBody(Base):
    """The bytes of one outgoing message, apart from its delivery state."""

    __tablename__ = "outbox_bodies"

    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), primary_key=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class ReplyKey(Base):
    """A reply key bound to one item and one reviewer, so a reply can be traced to both.

    Only the key's digest is kept (`replykeys.key_digest`): the key itself lives in the
    mail we sent, so a copy of the database cannot be used to decide in a member's name.
    """

    __tablename__ = "reply_keys"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    purpose: Mapped[str] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    used_for: Mapped[list[str]] = mapped_column(JSON, default=list)  # the commands it has decided: one use each
    revision: Mapped[int] = mapped_column(Integer, default=1)  # the item's text revision it was sent with


class MailboxState(Base):
    """Where we are in one IMAP folder: its UIDVALIDITY, the last UID taken in, the first-run baseline."""

    __tablename__ = "mailbox_state"

    folder_key: Mapped[str] = mapped_column(String(512), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    baseline_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RefCounter(Base):
    """The last item number used in a year, so refs run SMAT-2026-0001, -0002, … without gaps."""

    __tablename__ = "ref_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Digest(Base):
    """One Town Clerk's digest per local day: the unique day is what stops a second one being sent.

    Inserted in the transaction that queues the digest mail, so a second instance (or a
    restart) that built the same day's digest fails on the day and queues nothing.
    """

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)  # in the council's time zone
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())  # the next digest starts here
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    summary: Mapped[str] = mapped_column(Text, default="")  # the reconciliation line, as sent


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
