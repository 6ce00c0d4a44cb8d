"""The one place that puts the steps in order: keep, parse, classify, queue, answer.

Every source (IMAP, the SMTP/LMTP listener, a file) hands raw bytes to `Pipeline.ingest`.
The raw message, the item, its history and the mail it causes are written in ONE
transaction, so a crash anywhere leaves either nothing or everything; the outbox is
drained afterwards by delivery.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from intake import classify as rules
from intake.config import Person, Settings, is_address
from intake.errors import StorageError
from intake.journal import add_event, queue_keyed_mail, queue_mail
from intake.mailcontext import item_context
from intake.message import Attachment as ParsedAttachment
from intake.message import InboundMessage, ParseError, parse
from intake.refs import ref_in_subject
from intake.render import Composer, FileToAttach, Outgoing, Recipient
from intake.reply_step import ReplyStep
from intake.store import queries
from intake.store.models import Attachment, Item, Message, utcnow

QUARANTINED = "quarantined"
RECEIVED = "received"


@dataclass(frozen=True)
class Arrival:
    """One message as a source hands it over: the bytes, where from, and its key there."""

    raw: bytes
    source: str  # imap | smtp | lmtp | file
    source_key: str | None = None  # e.g. the IMAP UID; a second arrival with the same key is a duplicate
    envelope_recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What became of one message: for logs, tests and the SMTP reply."""

    message_db_id: int
    classification: str
    reason: str
    ref: str | None = None
    duplicate: bool = False
    mail_queued: int = 0


def first_status(kind: str) -> str:
    """A new draft goes straight to review; reports and enquiries are open until dealt with."""
    return "in_review" if kind == rules.DRAFT else "open"


class Pipeline:
    """Turns raw bytes into stored messages, items and outgoing mail."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        composer: Composer,
        log: logging.Logger | None = None,
        on_mail_queued: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.composer = composer
        self.log = log or logging.getLogger("intake.pipeline")
        self.on_mail_queued = on_mail_queued
        self.replies = ReplyStep(settings, composer)

    # --- the entry point ------------------------------------------------------------------

    def ingest(
        self, raw: bytes, source: str, source_key: str | None = None, envelope_recipients: Sequence[str] = ()
    ) -> Outcome:
        """Keep one message and everything it causes, in one transaction; never raises for bad input.

        Raises StorageError only when the database itself cannot take the message, so that
        the source can leave it where it is (IMAP) or answer 451 (SMTP) and try again.
        """
        arrival = Arrival(raw, source, source_key, tuple(envelope_recipients))
        try:
            with self.sessions.begin() as session:
                outcome = self._ingest(session, arrival)
        except OperationalError as exc:
            raise StorageError(f"the database could not take the message: {exc.orig}") from exc
        except StorageError:
            raise
        except IntegrityError:
            # Another instance committed the same source key first (two services on one
            # PostgreSQL database reading one mailbox): theirs stands, ours is a duplicate.
            seen = self._already_taken(arrival)
            if seen is None:
                raise
            outcome = seen
        except Exception as exc:  # a bug met by odd input: keep the bytes, quarantine, go on
            self.log.exception("processing failed; quarantining the message")
            try:
                with self.sessions.begin() as session:
                    outcome = self._quarantine(
                        session, arrival, None, f"internal error while processing: {type(exc).__name__}: {exc}"
                    )
            except SQLAlchemyError as db_exc:
                raise StorageError(f"the database could not take the message: {db_exc}") from db_exc
        if outcome.mail_queued and self.on_mail_queued:
            self.on_mail_queued()
        self.log.info(
            "message %s from %s: %s%s (%s)",
            outcome.message_db_id,
            source,
            outcome.classification,
            f" {outcome.ref}" if outcome.ref else "",
            "duplicate, already taken in" if outcome.duplicate else outcome.reason,
        )
        return outcome

    def _already_taken(self, arrival: Arrival) -> Outcome | None:
        if not arrival.source_key:
            return None
        with self.sessions() as session:
            seen = queries.message_seen(session, arrival.source_key)
            return Outcome(seen.id, seen.classification, seen.reason, duplicate=True) if seen else None

    def _ingest(self, session: Session, arrival: Arrival) -> Outcome:
        if arrival.source_key:
            seen = queries.message_seen(session, arrival.source_key)
            if seen is not None:
                return Outcome(seen.id, seen.classification, seen.reason, duplicate=True)
        try:
            msg = parse(arrival.raw)
        except ParseError as exc:
            return self._quarantine(session, arrival, None, f"could not be parsed: {exc.reason}")

        target = self._reply_target(session, msg, arrival.envelope_recipients)
        verdict = rules.classify(msg, self.settings.mailbox.address, self.settings.mailbox.domain, target is not None)

        if verdict.is_submission:
            if msg.sender is None or not is_address(msg.sender.email):
                return self._quarantine(session, arrival, msg, "it has no sender address we could answer")
            return self._new_item(session, arrival, msg, verdict)

        row = self._keep(session, arrival, msg, verdict.kind, verdict.reason)
        if target is None:
            return Outcome(row.id, verdict.kind, verdict.reason)
        # Lock the item: two decisions arriving together are taken one after the other.
        item = session.get(Item, target.item_id, with_for_update=True, populate_existing=True)
        assert item is not None
        row.item_id = item.id
        if verdict.kind != rules.REPLY:
            add_event(
                session,
                item,
                "automatic_mail_received",
                msg.sender.email if msg.sender else "",
                f"{verdict.reason}; matched by {target.detail}",
                row,
            )
            return Outcome(row.id, verdict.kind, verdict.reason, ref=item.ref)
        queued = self.replies.handle(session, item, msg, row, target)
        return Outcome(row.id, verdict.kind, verdict.reason, ref=item.ref, mail_queued=queued)

    # --- steps ----------------------------------------------------------------------------

    def _reply_target(
        self, session: Session, msg: InboundMessage, envelope: Sequence[str]
    ) -> queries.ReplyTarget | None:
        """The item this message answers: by reply key in an address, by our Message-ID, or by
        the ref in the subject (that last only for people on the roster)."""
        addresses = list(envelope)
        addresses += [a.email for a in (*msg.to, *msg.cc)]
        for header in ("delivered-to", "x-original-to", "envelope-to"):
            addresses += list(msg.header_all(header))
        found = queries.item_for_reply_key(
            session, self.settings.security.secret, addresses, self.settings.mailbox.address
        )
        if found is None:
            found = queries.item_for_message_ids(
                session, [*msg.in_reply_to, *msg.references], self.settings.mailbox.domain
            )
        if found is None and msg.sender is not None and self.settings.person(msg.sender.email) is not None:
            ref = ref_in_subject(msg.subject)
            if ref:
                found = queries.item_for_ref(session, ref)
        return found

    def _keep(
        self, session: Session, arrival: Arrival, msg: InboundMessage | None, classification: str, reason: str
    ) -> Message:
        """Store the raw bytes as received, with the few fields needed to find them again."""
        raw = arrival.raw
        row = Message(
            source=arrival.source,
            source_key=arrival.source_key,
            received_at=utcnow(),
            raw=raw,
            sha256=hashlib.sha256(raw).hexdigest(),
            size=len(raw),
            message_id=(msg.message_id[:998] if msg and msg.message_id else None),
            sender=(msg.sender.email[:320] if msg and msg.sender else ""),
            subject=(msg.subject if msg else ""),
            classification=classification,
            reason=reason,
        )
        session.add(row)
        session.flush()
        return row

    def _new_item(
        self, session: Session, arrival: Arrival, msg: InboundMessage, verdict: rules.Classification
    ) -> Outcome:
        assert msg.sender is not None
        row = self._keep(session, arrival, msg, verdict.kind, verdict.reason)
        item = self._make_item(session, row, msg, verdict.kind, first_status(verdict.kind))
        sender = msg.sender.email
        add_event(session, item, RECEIVED, sender, f"{verdict.kind}: {verdict.reason}", row)
        files = self._store_attachments(session, item, row, msg.attachments)
        queued = 0
        if not sender.isascii():
            # An internationalised address needs SMTPUTF8 end to end; we do not assume the relay has it.
            add_event(
                session,
                item,
                "not_acknowledged",
                "smat-intake",
                f"cannot write {sender!r} in a mail header (non-ASCII address)",
            )
        elif sender.lower() != self.settings.mailbox.address.lower():
            queue_mail(session, item, self._acknowledgement(item, msg), "acknowledged")
            queued += 1
        for person in self.settings.reviewers:
            self._queue_review_request(session, item, msg, person, files)
            queued += 1
        return Outcome(row.id, verdict.kind, verdict.reason, ref=item.ref, mail_queued=queued)

    def _make_item(self, session: Session, row: Message, msg: InboundMessage | None, kind: str, status: str) -> Item:
        year = row.received_at.astimezone(self.settings.council.tz).year
        number, ref = queries.next_ref(session, year)
        sender = msg.sender.email if msg and msg.sender else ""
        item = Item(
            ref=ref,
            year=year,
            number=number,
            kind=kind,
            status=status,
            sender=sender[:320],
            sender_name=(msg.sender.name[:320] if msg and msg.sender else ""),
            sender_role=self.settings.role_of(sender) if sender else "public",
            subject=msg.subject if msg else "",
            text=msg.text if msg else "",
            received_at=row.received_at,
            updated_at=row.received_at,
            flags=[],
        )
        session.add(item)
        session.flush()
        row.item_id = item.id
        return item

    def _quarantine(self, session: Session, arrival: Arrival, msg: InboundMessage | None, reason: str) -> Outcome:
        """Keep what could not be processed, with the reason, for the Clerk to decide."""
        row = self._keep(session, arrival, msg, QUARANTINED, reason)
        kind = rules.submission_kind(msg.subject)[0] if msg else rules.DRAFT
        item = self._make_item(session, row, msg, kind, QUARANTINED)
        item.quarantine_reason = reason
        add_event(session, item, "quarantined", "", reason, row)
        return Outcome(row.id, QUARANTINED, reason, ref=item.ref)

    def _store_attachments(
        self, session: Session, item: Item, row: Message, parsed: Sequence[ParsedAttachment]
    ) -> list[tuple[Attachment, ParsedAttachment]]:
        """Keep each file under a generated name; the sender's name is only ever displayed."""
        stored = []
        for part in parsed:
            extension = mimetypes.guess_extension(part.content_type) or ".bin"
            record = Attachment(
                item_id=item.id,
                message_id=row.id,
                stored_name=f"{uuid.uuid4().hex}{extension}",
                filename=part.filename[:255],
                content_type=part.content_type[:255],
                size=len(part.data),
                sha256=hashlib.sha256(part.data).hexdigest(),
                inline=part.inline,
                content_id=part.content_id[:998] if part.content_id else None,
                origin=part.origin,
                data=part.data,
            )
            session.add(record)
            stored.append((record, part))
        session.flush()
        return stored

    # --- the mail a new item causes -------------------------------------------------------

    def _acknowledgement(self, item: Item, msg: InboundMessage) -> Outgoing:
        assert msg.sender is not None
        return self.composer.compose(
            "acknowledgement",
            Recipient(msg.sender.email, msg.sender.name),
            item_context(self.settings, item),
            ref=item.ref,
            in_reply_to=msg.message_id,
            references=msg.references,
        )

    def _queue_review_request(
        self,
        session: Session,
        item: Item,
        msg: InboundMessage,
        person: Person,
        files: list[tuple[Attachment, ParsedAttachment]],
    ) -> None:
        pictures = [(record, part) for record, part in files if part.is_image]
        listing = [
            {
                "filename": record.filename,
                "content_type": record.content_type,
                "size_label": _size_label(record.size),
                "attached": part.is_image,
            }
            for record, part in files
        ]
        queue_keyed_mail(
            session,
            self.composer,
            self.settings.security.secret,
            item,
            Recipient(person.email, person.name),
            "review-request",
            {**item_context(self.settings, item), "attachments": listing, "pictures": len(pictures)},
            "review_requested",
            attachments=[FileToAttach(record.filename, record.content_type, part.data) for record, part in pictures],
            auto_submitted="auto-generated",
        )


def _size_label(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
