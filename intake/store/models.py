"""The tables: raw messages, items, their append-only history, attachments, the outbox.

The schema itself is created by the Alembic migrations in `migrations/`; these classes
must match them (a test compares the two).
"""

from __future__ import annotations

import hashlib
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
    __table_args__ = (
        UniqueConstraint("year", "number", name="uq_items_year_number"),
        Index("ix_items_status_received_at", "status", "received_at"),  # `items --status`, newest first
        Index("ix_items_sender_key_received_at", "sender_key", "received_at"),  # this sender's items lately
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # draft | report | enquiry
    status: Mapped[str] = mapped_column(String(16), index=True)
    sender: Mapped[str] = mapped_column(String(320), default="")
    sender_key: Mapped[str] = mapped_column(String(320), default="", server_default="")  # untagged(sender)
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


class Blob(Base):
    """Bytes our mail carries, kept once by their SHA-256 however many items and messages refer to them."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Attachment(Base):
    """A file that came with an item; kept under a generated name, never the sender's.

    Its original bytes are those in the raw message, kept exactly (read them with `data`, which
    parses the message again); only what our mail carries is kept apart, once, in `blobs`.
    """

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))  # for display only
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))  # of the original bytes
    part: Mapped[int] = mapped_column(Integer, default=0)  # its place among the files the parser finds in the message
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    content_id: Mapped[str | None] = mapped_column(String(998))
    origin: Mapped[str] = mapped_column(String(16), default="part")
    # What its content proved it to be (intake.pictures), never what the sender declared:
    content_format: Mapped[str] = mapped_column(String(64), default="")  # 'JPEG', 'Windows program', 'PDF', ...
    withheld: Mapped[bool] = mapped_column(Boolean, default=False)  # never sent on: the note says why
    note: Mapped[str] = mapped_column(Text, default="")  # the sentence reviewers read about it
    # What our mail carries of it, by our name: a picture's re-encoded copy (no metadata, upright,
    # scaled; `prepared`) or an ordinary document as it came; the bytes are the blob `sent_sha256`.
    prepared_name: Mapped[str | None] = mapped_column(String(255))
    prepared_type: Mapped[str | None] = mapped_column(String(255))
    prepared: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    attach: Mapped[bool] = mapped_column(Boolean, default=False)  # the copy fits the per-mail limit

    item: Mapped[Item] = relationship(back_populates="attachments")
    message: Mapped[Message] = relationship()
    sent: Mapped[Blob | None] = relationship()

    @property
    def prepared_data(self) -> bytes | None:
        """A picture's re-encoded copy, the only bytes of it we send on; None for any other file."""
        return self.sent.data if self.prepared and self.sent is not None else None

    @property
    def sent_data(self) -> bytes | None:
        """What our mail carries of this file (a picture's copy or a document as it came), if anything."""
        return self.sent.data if self.sent is not None else None

    @property
    def data(self) -> bytes:
        """The original bytes exactly as received, read from the kept raw message (parsed again: slow, rare)."""
        from intake.message import parse  # the parser is loaded only when an original is asked for

        found = parse(self.message.raw).attachments
        if self.part < len(found) and hashlib.sha256(found[self.part].data).hexdigest() == self.sha256:
            return found[self.part].data
        for candidate in found:  # kept before parts were numbered: find it by content
            if hashlib.sha256(candidate.data).hexdigest() == self.sha256:
                return candidate.data
        raise LookupError(f"attachment {self.stored_name} is no longer in its message")


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
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at", "id"),)  # the order delivery reads

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
    # a row holding the whole message (SQLite rewrites the full record).
    body: Mapped[OutboxBody] = relationship(
        cascade="all, delete-orphan", single_parent=True, lazy="joined", innerjoin=True
    )

    @property
    def raw(self) -> bytes:
        """The complete message as it will be sent: the kept skeleton with its files spliced in."""
        from sqlalchemy.orm import object_session

        from intake.assembly import encode_part, refs_from_json, splice, unpack

        parts = refs_from_json(self.body.parts)
        skeleton = unpack(self.body.raw, self.body.packing)
        if not parts:
            return skeleton
        session = object_session(self)
        assert session is not None, "an outbox row's files are read through its session"
        return splice(skeleton, parts, lambda sha: encode_part(session.get_one(Blob, sha).data))

    @raw.setter
    def raw(self, value: bytes) -> None:
        self.body = OutboxBody(raw=value, parts=[], packing="")


class OutboxBody(Base):
    """One outgoing message apart from its delivery state: its skeleton and the files spliced into it.

    `raw` is the message without its files' bodies (zlib-compressed when `packing` says so);
    `parts` lists [offset, sha256] for each file, whose bytes are in `blobs` (intake.assembly).
    Mail queued before the skeletons has its whole message in `raw` and no parts.
    """

    __tablename__ = "outbox_bodies"

    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), primary_key=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    parts: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    packing: Mapped[str] = mapped_column(String(8), default="")


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
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), index=True)  # a reply by In-Reply-To
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
    # UIDNEXT and the message count as the last pass that moved everything it found left the folder:
    # a STATUS showing both unchanged means nothing new, and the folder need not be SELECTed.
    quiet_uidnext: Mapped[int | None] = mapped_column(BigInteger)
    quiet_messages: Mapped[int | None] = mapped_column(BigInteger)


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


# The registers and records kept beside the mail (roster, accounts, audit, reports, erasures, health,
# mailbox notes, intake attempts) live in models_registers; imported here so that every table is mapped
# and importable from this one module.
from intake.store.models_registers import (  # noqa: E402
    AuditLine,
    CommitteeReport,
    Erasure,
    IntakeAttempt,
    MailboxNote,
    Member,
    RosterRequest,
    ServiceMark,
    SocialAccount,
)

__all__ = [
    "Attachment",
    "Base",
    "Blob",
    "Digest",
    "Event",
    "Item",
    "MailboxState",
    "Message",
    "OutboxBody",
    "OutboxMessage",
    "RefCounter",
    "ReplyKey",
    "UTCDateTime",
    "utcnow",
    "Member",
    "SocialAccount",
    "RosterRequest",
    "AuditLine",
    "CommitteeReport",
    "Erasure",
    "ServiceMark",
    "MailboxNote",
    "IntakeAttempt",
]
