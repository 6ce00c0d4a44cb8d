"""The one place that puts the steps in order: keep, parse, classify, queue, answer.

Every source (IMAP, the SMTP/LMTP listener, a file) hands raw bytes to `Pipeline.ingest`.
The message is parsed and its files examined first, with no transaction open, so a slow
message never holds the write lock while an ordinary draft waits. Then the raw message, the
item, its history and the mail it causes are written in ONE transaction, so a crash anywhere
leaves either nothing or everything; the outbox is drained afterwards by delivery.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from intake import classify, impersonation, roster_commands, screening
from intake.arrival import Arrival, Outcome
from intake.commands import Registry, default_registry
from intake.config import Settings, is_address
from intake.decisions import excerpt
from intake.errors import StorageConflict, StorageError, StorageRejected
from intake.files import ExaminedFile, SizeLimits, examine_files, size_flags
from intake.message import InboundMessage, ParseError, parse
from intake.pictures import PictureLimits
from intake.pipeline_state import HowFar, ReadMessage, describe
from intake.refs import ref_in_subject
from intake.render import Composer
from intake.reply_step import ReplyStep
from intake.roster_step import RosterStep
from intake.shown_text import SHOWN_CHARS
from intake.store import accounts, acknowledgements, attempts, items, messages, roster
from intake.store.attachments import store_attachments
from intake.store.db import Session, Sessions
from intake.store.history import SYSTEM_ACTOR, add_event
from intake.store.models import Item, Message, utcnow
from intake.store.reply_targets import ReplyTarget, item_for_message_ids, item_for_ref, item_for_reply_key
from intake.store.unit import transaction
from intake.submission_mail import SubmissionMail
from intake.vocab import EventKind, Kind, Role, Status

__all__ = ["Pipeline", "first_status"]

_HOUR = timedelta(hours=1)
SCREENED_CHARS = SHOWN_CHARS  # of a draft's text, screened against the policy: what our mail shows of it


def first_status(kind: str) -> Status:
    """A new draft goes straight to review; reports and enquiries are open until dealt with."""
    return Status.IN_REVIEW if kind == Kind.DRAFT else Status.OPEN


class Pipeline:
    """Turns raw bytes into stored messages, items and outgoing mail."""

    def __init__(
        self,
        settings: Settings,
        sessions: Sessions,
        composer: Composer,
        log: logging.Logger | None = None,
        on_mail_queued: Callable[[], None] | None = None,
        reply_step: ReplyStep | None = None,
        registry: Registry | None = None,
        counting_sessions: Sessions | None = None,
    ) -> None:
        self.config = settings  # as read from the file: the roster's seed
        self.settings = settings  # with the database's roster, refreshed for each message
        self.sessions = sessions
        # The attempt count must survive a killed process, not a power cut: SQLite may give it a
        # connection that does not fsync each commit (a power cut costs a poison message one more try).
        self.counting_sessions = counting_sessions or sessions
        self.composer = composer
        self.log = log or logging.getLogger("intake.pipeline")
        self.on_mail_queued = on_mail_queued
        # One registry for the whole desk: the commands a reply may use are the ones its mail lists.
        self.registry = registry if registry is not None else default_registry()
        self.reply_step = reply_step or ReplyStep(settings, composer, self.registry)
        self.mail = SubmissionMail(settings, composer, self.registry)
        self.roster = RosterStep(settings, composer)
        given = settings.pictures
        self.picture_limits = PictureLimits(
            max_side=given.max_side, max_bytes=given.max_bytes, max_pixels=given.max_pixels, max_frames=given.max_frames
        )
        bounds = settings.limits
        self.sizes = SizeLimits(bounds.attach_per_mail_bytes, bounds.attachment_bytes, bounds.message_bytes)
        self._seeded = False  # the roster and account register hold rows (seeded from the config once)

    # --- the entry point ------------------------------------------------------------------

    def ingest(
        self, raw: bytes, source: str, source_key: str | None = None, envelope_recipients: Sequence[str] = ()
    ) -> Outcome:
        """Keep one message and everything it causes, in one transaction; never raises for bad input.

        Raises StorageError only when the database itself cannot take the message, so that
        the source can leave it where it is (IMAP) or answer 451 (SMTP) and try again.
        """
        arrival = Arrival(raw, source, source_key, tuple(envelope_recipients))
        progress = HowFar(digest=hashlib.sha256(raw).hexdigest())
        # Counted and committed before any work: a message that kills the process every time ends.
        started = attempts.begin(self.counting_sessions, progress.digest, source_key)
        try:
            if started >= attempts.MAX_ATTEMPTS:
                outcome = self._give_up(arrival, progress, started)
            else:
                read = self._read(arrival)  # the slow part, before the write lock is taken
                progress.msg = read.msg
                with transaction(self.sessions, "take the message") as session:
                    outcome = self._process(session, arrival, read, progress)
                    attempts.finish(session, progress.digest)
        except StorageConflict:
            # Another instance committed the same source key first (two services on one
            # PostgreSQL database reading one mailbox): theirs stands, ours is a duplicate.
            seen = self._already_taken(arrival)
            if seen is None:
                raise
            outcome = seen
        except Exception as exc:
            if isinstance(exc, StorageError) and not isinstance(exc, StorageRejected):
                raise  # the database cannot take it now: the source keeps the message and tries again
            outcome = self._contain(arrival, progress, exc)  # a bug met by odd input: keep the bytes, go on
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
        seen = messages.seen_before(self.sessions, arrival.source_key)
        return Outcome(seen.id, seen.classification, seen.reason, duplicate=True) if seen else None

    def _read(self, arrival: Arrival) -> ReadMessage:
        """Parse the message and examine every file by its content; no database is touched."""
        try:
            msg = parse(arrival.raw)
        except ParseError as exc:
            return ReadMessage(None, problem=f"could not be parsed: {exc.reason}")
        per_mail, size = self.sizes.per_mail_bytes, len(arrival.raw)
        files = examine_files(msg.attachments, self.picture_limits, per_mail, sizes=self.sizes, message_size=size)
        return ReadMessage(msg, files=files)

    def _process(self, session: Session, arrival: Arrival, read: ReadMessage, progress: HowFar) -> Outcome:
        """Everything one message causes, in the caller's transaction."""
        earlier = messages.earlier(session, arrival.source_key, arrival.raw, read.msg.message_id if read.msg else None)
        if (seen := earlier.by_key) is not None:
            return Outcome(seen.id, seen.classification, seen.reason, duplicate=True)
        # A second copy (new UID, a server's retry, a restored folder): one item, one answer.
        if (again := earlier.again) is not None:
            ref = again.item.ref if again.item is not None else None
            return Outcome(again.id, again.classification, f"delivered again: {again.reason}", ref, duplicate=True)
        msg = read.msg
        if msg is None:
            return self._quarantine(session, arrival, None, read.problem)
        self._use_roster(session)
        if (asked := self._roster_mail(session, arrival, msg)) is not None:
            return asked

        target = self._reply_target(session, msg, arrival.envelope_recipients)
        verdict = classify.classify(
            msg, self.settings.mailbox.address, self.settings.mailbox.domain, target is not None
        )

        if verdict.is_submission:
            if msg.sender is None or not is_address(msg.sender.email):
                return self._quarantine(session, arrival, msg, "it has no sender address we could answer")
            repeat = acknowledgements.repeat_of(
                session, msg.sender.email, [*msg.in_reply_to, *msg.references], msg.subject, utcnow() - _HOUR
            )
            if repeat is not None:
                return self._fold(session, arrival, msg, verdict, read.files, *repeat)
            return self._new_item(session, arrival, msg, verdict, read.files)

        row = self._keep(session, arrival, msg, verdict.kind, verdict.reason)
        if target is None:
            return Outcome(row.id, verdict.kind, verdict.reason)
        progress.item_id = target.item_id
        item = items.lock_item(session, target.item_id)
        messages.file_under(row, item)
        if verdict.kind != classify.REPLY:
            add_event(
                session,
                item,
                EventKind.AUTOMATIC_MAIL_RECEIVED,
                msg.sender.email if msg.sender else "",
                f"{verdict.reason}; matched by {target.detail}",
                row,
            )
            return Outcome(row.id, verdict.kind, verdict.reason, ref=item.ref)
        queued = self.reply_step.handle(session, item, msg, row, target, read.files)
        return Outcome(row.id, verdict.kind, verdict.reason, ref=item.ref, mail_queued=queued)

    def _use_roster(self, session: Session) -> None:
        """Read who is who from the database (seeding it from the config the first time) for this message."""
        if not self._seeded:  # once both are seeded (committed earlier), they stay so: no counting per message
            self._seeded = roster.seed(session, self.config) + accounts.seed(session, self.config.accounts) == 0
        settings = roster.roster_settings(session, self.config)
        if settings.people != self.settings.people:
            self.settings = settings
            self.reply_step.use(settings)
            self.mail.settings = settings
            self.roster.use(settings)

    def _roster_mail(self, session: Session, arrival: Arrival, msg: InboundMessage) -> Outcome | None:
        """A roster command (ADD/REMOVE SMAT) or a reply to a roster confirmation; None if neither."""
        request = self.roster.request_for(session, msg, arrival.envelope_recipients)
        command = roster_commands.read(msg.text, msg.subject) if request is None else None
        if (request is None and command is None) or msg.sender is None:
            return None
        verdict = classify.classify(msg, self.settings.mailbox.address, self.settings.mailbox.domain, True)
        if verdict.kind != classify.REPLY:
            return None  # an out-of-office answering a confirmation: kept as automatic mail, never acted on
        row = self._keep(session, arrival, msg, classify.REPLY, "a roster command")
        if request is not None:
            queued, row.reason = self.roster.confirm(session, msg, row, request)
        else:
            assert command is not None
            queued, row.reason = self.roster.command(session, msg, row, command)
        return Outcome(row.id, classify.REPLY, row.reason, mail_queued=queued)

    # --- when processing fails ------------------------------------------------------------

    def _contain(self, arrival: Arrival, progress: HowFar, exc: Exception) -> Outcome:
        """After a bug: nothing of the failed attempt was committed; keep the bytes and say where it broke.

        Called from an `except` block, so the log carries the traceback. A message matched to
        an item keeps that item and records the failure in its history; anything else is
        quarantined as an item of its own for the Clerk.
        """
        reason = f"internal error while processing: {describe(exc)}"
        if progress.item_id is None:
            self.log.exception("processing failed; quarantining the message")
            with transaction(self.sessions, "take the message") as session:
                attempts.finish(session, progress.digest)
                return self._quarantine(session, arrival, None, reason)
        self.log.exception("processing a reply failed; the message is kept and the failure recorded on its item")
        with transaction(self.sessions, "take the message") as session:
            attempts.finish(session, progress.digest)
            row = self._keep(session, arrival, progress.msg, Status.QUARANTINED, reason)
            item = items.lock_item(session, progress.item_id)
            messages.file_under(row, item)
            add_event(session, item, EventKind.PROCESSING_FAILED, SYSTEM_ACTOR, reason, row, error=describe(exc))
            return Outcome(row.id, Status.QUARANTINED, reason, ref=item.ref)

    def _give_up(self, arrival: Arrival, progress: HowFar, started: int) -> Outcome:
        """A message whose processing was started `started` times and never finished: quarantined unread."""
        reason = (
            f"processing it was started {started} times and never finished (the service stopped or the database "
            "refused it each time); it was not read again, so that the mail after it goes on"
        )
        self.log.error("message %s… %s; quarantining it", progress.digest[:12], reason)
        with transaction(self.sessions, "take the message") as session:
            attempts.finish(session, progress.digest)
            earlier = messages.earlier(session, arrival.source_key, arrival.raw, None)
            seen = earlier.by_key or earlier.again
            if seen is not None:
                return Outcome(seen.id, seen.classification, seen.reason, duplicate=True)
            return self._quarantine(session, arrival, None, reason)

    # --- steps ----------------------------------------------------------------------------

    def _reply_target(self, session: Session, msg: InboundMessage, envelope: Sequence[str]) -> ReplyTarget | None:
        """The item this message answers: by reply key in an address, by our Message-ID, or by
        the ref in the subject (that last only for people on the roster)."""
        addresses = list(envelope)
        addresses += [a.email for a in (*msg.to, *msg.cc)]
        for header in ("delivered-to", "x-original-to", "envelope-to"):
            addresses += list(msg.header_all(header))
        found = item_for_reply_key(session, self.settings.security.secret, addresses, self.settings.mailbox.address)
        if found is None:
            found = item_for_message_ids(session, [*msg.in_reply_to, *msg.references], self.settings.mailbox.domain)
        if found is None and msg.sender is not None and self.settings.person(msg.sender.email) is not None:
            ref = ref_in_subject(msg.subject)
            if ref:
                found = item_for_ref(session, ref)
        return found

    def _keep(
        self,
        session: Session,
        arrival: Arrival,
        msg: InboundMessage | None,
        classification: str,
        reason: str,
        item: Item | None = None,
    ) -> Message:
        """Store the raw bytes as received, with the few fields needed to find them again (under a new `item`)."""
        return messages.keep(
            session,
            arrival,
            classification,
            reason,
            message_id=msg.message_id if msg else None,
            sender=msg.sender.email if msg and msg.sender else "",
            subject=msg.subject if msg else "",
            item=item,
        )

    def _new_item(
        self,
        session: Session,
        arrival: Arrival,
        msg: InboundMessage,
        verdict: classify.Classification,
        files: tuple[ExaminedFile, ...],
    ) -> Outcome:
        assert msg.sender is not None
        received = utcnow()
        flags = impersonation.flags(self.settings, msg.sender.name, msg.sender.email)  # a name not theirs
        if verdict.kind == Kind.DRAFT:  # the policy's screening, appended: the impersonation flag stays
            day = received.astimezone(self.settings.council.tz).date()
            text = msg.text[:SCREENED_CHARS]  # the screens' patterns cost ~4 s a MB: a 30 MB body took minutes
            flags += screening.screen_submission(msg.subject, text, files, day, self.settings)
        flags += size_flags(files, self.sizes, len(arrival.raw))  # over a limit: kept, marked
        item = self._make_item(session, received, msg, verdict.kind, first_status(verdict.kind), flags=flags)
        row = self._keep(session, arrival, msg, verdict.kind, verdict.reason, item=item)  # one flush writes both
        sender = msg.sender.email
        add_event(session, item, EventKind.RECEIVED, sender, f"{verdict.kind}: {verdict.reason}", row)
        records = store_attachments(session, item, row, msg.attachments, files)
        acknowledgement = None
        if not sender.isascii():
            # An internationalised address needs SMTPUTF8 end to end; we do not assume the relay has it.
            why = f"cannot write {sender!r} in a mail header (non-ASCII address)"
            add_event(session, item, EventKind.NOT_ACKNOWLEDGED, SYSTEM_ACTOR, why)
        elif sender.lower() != self.settings.mailbox.address.lower():
            acknowledgement = self.mail.acknowledgement(session, item, msg)
        queued = self.mail.review_requests(session, item, records, acknowledgement)
        return Outcome(row.id, verdict.kind, verdict.reason, ref=item.ref, mail_queued=queued)

    def _fold(
        self,
        session: Session,
        arrival: Arrival,
        msg: InboundMessage,
        verdict: classify.Classification,
        files: tuple[ExaminedFile, ...],
        earlier: Item,
        how: str,
    ) -> Outcome:
        """A repeat of the sender's undecided item: kept and recorded on it, no new item, no acknowledgement.

        What it adds is not lost on the reviewers: new wording or new files go to them as the
        drafter's words (as an answer to a query would); an exact repeat sends nothing.
        """
        assert msg.sender is not None
        reason = f"a repeat of {earlier.ref} ({how}): recorded on it, not made a new item"
        row = self._keep(session, arrival, msg, verdict.kind, reason)
        item = items.lock_item(session, earlier.id)
        messages.file_under(row, item)
        add_event(session, item, EventKind.REPEAT_RECEIVED, msg.sender.email, f"{how}: {excerpt(msg.text)}", row)
        records = store_attachments(session, item, row, msg.attachments, files)
        queued = self.mail.relay_repeat(session, item, msg, records)
        return Outcome(row.id, verdict.kind, reason, ref=item.ref, mail_queued=queued)

    def _make_item(
        self,
        session: Session,
        received: datetime,
        msg: InboundMessage | None,
        kind: str,
        status: str,
        quarantine_reason: str = "",
        flags: list[dict[str, Any]] | None = None,
    ) -> Item:
        """A new item under the next ref of its year, written with its first message (see `_keep`)."""
        sender = msg.sender.email if msg and msg.sender else ""
        return items.new_item(
            session,
            received,
            received.astimezone(self.settings.council.tz).year,
            kind,
            status,
            sender=sender,
            sender_name=msg.sender.name if msg and msg.sender else "",
            sender_role=self.settings.role_of(sender) if sender else Role.PUBLIC,
            subject=msg.subject if msg else "",
            text=msg.text if msg else "",
            quarantine_reason=quarantine_reason,
            flags=flags,
        )

    def _quarantine(self, session: Session, arrival: Arrival, msg: InboundMessage | None, reason: str) -> Outcome:
        """Keep what could not be processed, with the reason, for the Clerk to decide."""
        kind = classify.submission_kind(msg.subject)[0] if msg else Kind.DRAFT
        item = self._make_item(session, utcnow(), msg, kind, Status.QUARANTINED, quarantine_reason=reason)
        row = self._keep(session, arrival, msg, Status.QUARANTINED, reason, item=item)
        add_event(session, item, EventKind.QUARANTINED, "", reason, row)
        return Outcome(row.id, Status.QUARANTINED, reason, ref=item.ref)
