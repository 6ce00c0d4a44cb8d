"""Draining the outbox: claim due mail, hand it to the transport, record what happened.

A 4xx or an unreachable relay puts the message back with a growing delay; a 5xx marks it
failed; recipients refused one by one are recorded. Mail claimed by a process that died is
sent at once by the next one: on PostgreSQL each row is locked (`FOR NO KEY UPDATE SKIP
LOCKED`) in the transaction that sends it and records the result, so the lock dies with a
killed process's connection and two live processes never send one row; on SQLite, where one
instance runs, a drain releases every claim when it starts, and a live claimer's claim is a
lease of `STALE_CLAIM`. A resend after a kill between the relay's "250" and our commit
carries the same stored bytes, so the same Message-ID.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from intake.assembly import EncodedParts
from intake.config import Outbox
from intake.delivery.sent_journal import SentJournal
from intake.delivery.transport import PermanentFailure, TemporaryFailure, Transport
from intake.store import outbox
from intake.store.db import Session, Sessions
from intake.store.models import OutboxMessage, utcnow
from intake.store.outbox import Delivery
from intake.store.unit import reading, transaction

STALE_CLAIM = timedelta(minutes=10)
BATCH = 100  # mails claimed at once on SQLite: one write lock for each batch's records and the next claim
MAX_DELAY = timedelta(hours=1)
Sent = dict[str, str] | Exception  # the recipients a relay refused one by one, or why it did not take the mail


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    waiting: int = 0
    problem: str = ""


def retry_delay(settings: Outbox, attempts: int) -> timedelta:
    """Doubling delays from retry_seconds, capped at an hour."""
    return min(timedelta(seconds=settings.retry_seconds * 2 ** max(attempts - 1, 0)), MAX_DELAY)


class _Link:
    """One drain's transport, opened at the first message and closed when the drain ends."""

    def __init__(self, factory: Callable[[], Transport]) -> None:
        self.factory = factory
        self.transport: Transport | None = None

    def get(self) -> Transport:
        if self.transport is None:
            self.transport = self.factory()
        return self.transport

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class OutboxDrain:
    """Delivers what is due; safe to run from several processes on one PostgreSQL database."""

    def __init__(
        self,
        sessions: Sessions,
        transport_factory: Callable[[], Transport],
        settings: Outbox,
        log: logging.Logger | None = None,
        journal: SentJournal | None = None,
    ) -> None:
        """`journal`: SQLite's notes of sends not yet recorded (sent_journal.py); None keeps no notes."""
        self.sessions = sessions
        self.journal = journal
        self.transport_factory = transport_factory
        self.settings = settings
        self.log = log or logging.getLogger("intake.delivery")
        self._started = False
        self._start_lock = threading.Lock()
        self._locking_known: bool | None = None
        self._link: _Link | None = None  # a relay connection kept between drains (see deliver_due)
        # Files' base64 bodies by SHA-256, kept between drains: a photo going to three reviewers is encoded once.
        self.encoded = EncodedParts()

    @property
    def _locking(self) -> bool:
        """True on PostgreSQL, where a row lock held for the send is the claim."""
        if self._locking_known is None:
            with self.sessions() as session:
                self._locking_known = session.get_bind().dialect.name == "postgresql"
        return self._locking_known

    def _start(self) -> None:
        """SQLite, first drain in this process: claims in the table were left by a dead process. What the relay
        took from it (its notes) is recorded as sent; the rest is freed to go again."""
        with self._start_lock:
            if self._started:
                return
            if not self._locking:
                notes = self.journal.read() if self.journal is not None else {}
                with transaction(self.sessions, "release the claims of a stopped process") as session:
                    recorded = outbox.claimed(session, list(notes))
                    outbox.finish(session, [(row, Delivery.SENT, "", notes[row.id]) for row in recorded])
                    released = outbox.release_all_claims(session)
                if self.journal is not None:
                    self.journal.clear()
                if recorded:
                    self.log.warning("%d message(s) the relay took before a stop are recorded as sent", len(recorded))
                if released:
                    self.log.warning("%d message(s) claimed by a stopped process go again now", released)
            self._started = True

    def deliver_due(
        self, now: datetime | None = None, keep_open: bool = False, count_waiting: bool = True
    ) -> DeliveryReport:
        """Send everything due now; stop early (and say so) when the relay is unreachable.

        `keep_open`: the relay connection stays open for the next drain (`run`'s delivery thread, which
        closes it with `close_link` after a quiet spell), so a drain per draft does not connect each time.
        `count_waiting=False`: the report's `waiting` is counted only when the relay was unreachable (`run`'s
        sender drains after every draft and says nothing of what waits unless mail was delayed).
        """
        self._start()
        report = DeliveryReport()
        kept, self._link = (self._link, None) if keep_open else (None, self._link)
        link = kept or _Link(self.transport_factory)
        try:
            if self._locking:
                self._deliver_locked(link, now, report)
            else:
                self._deliver_claimed(link, now, report)
        finally:
            if keep_open and not report.problem:
                self._link = link
            else:
                link.close()
            if count_waiting or report.problem:
                report.waiting = self.waiting()
        return report

    def close_link(self) -> None:
        """Close a relay connection kept open by `deliver_due(keep_open=True)`, if any."""
        link, self._link = self._link, None
        if link is not None:
            link.close()

    def waiting(self) -> int:
        """How many messages are still waiting to go."""
        with reading(self.sessions, "count the mail waiting") as session:
            return outbox.count_waiting(session)

    def _deliver_locked(self, link: _Link, now: datetime | None, report: DeliveryReport) -> None:
        """PostgreSQL: one transaction per message holds its row lock from the claim to the recorded result;
        the due rows are found a batch at a time. A batch short of BATCH was all that was due: the drain ends
        there without looking again (mail queued since wakes the sender again). A batch of which every row is
        another sender's (or was sent since it was found) ends it too: looking again would only find them, and spin."""
        while True:
            current = now or utcnow()
            with reading(self.sessions, "find mail to send") as session:
                due = outbox.due_ids(session, current, BATCH, STALE_CLAIM)
            taken = 0
            for row_id in due:
                with transaction(self.sessions, "send a message") as session:
                    row = outbox.lock_row(session, row_id, current, STALE_CLAIM)
                    if row is None:
                        continue  # another process is sending it, or has sent it
                    taken += 1
                    sent = self._attempt(link, row, outbox.message_bytes(session, row, self.encoded))
                    if not self._record_batch(session, [(row, sent)], [], report, current):
                        return
            if not taken or len(due) < BATCH:
                return

    def _deliver_claimed(self, link: _Link, now: datetime | None, report: DeliveryReport) -> None:
        """SQLite: send a claimed batch outside any transaction, then record it and claim the next in one.

        SQLite's one write lock is not held while the relay answers, and it is taken once a batch: taking
        mail in, which holds it for most of each draft, leaves it free only now and then (README, issue 13).
        A relay that goes away stops the batch: what was sent is recorded, the rest put back untouched.
        """
        sent: list[tuple[OutboxMessage, Sent]] = []
        unsent: list[OutboxMessage] = []
        try:
            while True:
                current = now or utcnow()
                with transaction(self.sessions, "record sent mail and claim more") as session:
                    going_on = self._record_batch(session, sent, unsent, report, current)
                    batch = outbox.claim_due(session, current, BATCH, STALE_CLAIM) if going_on else []
                self._recorded()
                sent, unsent = [], list(batch)
                while unsent:
                    row = unsent.pop(0)
                    raw = outbox.message_bytes(self.sessions, row, self.encoded)  # files read, if any, without a lock
                    result = self._attempt(link, row, raw)
                    if self.journal is not None and isinstance(result, dict):
                        self.journal.note(row.id, result)  # before anything else: a kill now sends it once only
                    sent.append((row, result))
                    if isinstance(result, TemporaryFailure):
                        break
                if not batch:
                    return
        finally:
            if sent or unsent:  # an error on the way: keep what was sent from going twice
                with transaction(self.sessions, "record sent mail") as session:
                    self._record_batch(session, sent, unsent, report, now or utcnow())
                self._recorded()

    def _recorded(self) -> None:
        """The database holds every send noted so far: the notes can go."""
        if self.journal is not None:
            self.journal.clear()

    def _record_batch(
        self,
        session: Session,
        sent: list[tuple[OutboxMessage, Sent]],
        unsent: list[OutboxMessage],
        report: DeliveryReport,
        now: datetime,
    ) -> bool:
        """Record each send of a batch and put back what was not tried; False when the relay is unreachable."""
        done: list[outbox.Finished] = []
        going_on = all([self._record(session, row, result, report, now, done) for row, result in sent])
        outbox.finish(session, done)
        outbox.release(session, [row.id for row in unsent])
        return going_on

    @staticmethod
    def _attempt(link: _Link, row: OutboxMessage, raw: bytes) -> Sent:
        """Hand one message to the transport: the recipients it refused one by one, or why it failed."""
        try:
            return link.get().send(row.mail_from, row.recipients, raw)
        except (TemporaryFailure, PermanentFailure) as exc:
            return exc

    def _record(
        self,
        session: Session,
        row: OutboxMessage,
        sent: Sent,
        report: DeliveryReport,
        now: datetime,
        done: list[outbox.Finished],
    ) -> bool:
        """Record what the transport said: a deferral in `session`, a row sent or failed for good added to `done`
        (recorded with the rest of its batch); False when the relay is unreachable (stop)."""
        if isinstance(sent, TemporaryFailure):
            self._defer(session, row, str(sent), report, now, done)
            report.problem = str(sent)
            return False
        if isinstance(sent, Exception):
            self._failed(row, str(sent), report, done)
            return True
        done.append((row, Delivery.SENT, "", sent))
        report.sent += 1
        return True

    def _failed(self, row: OutboxMessage, error: str, report: DeliveryReport, done: list[outbox.Finished]) -> None:
        done.append((row, Delivery.FAILED, error, {}))
        report.failed += 1
        self.log.error("%s to %s failed for good: %s", row.purpose, ", ".join(row.recipients), error)

    def _defer(
        self,
        session: Session,
        row: OutboxMessage,
        error: str,
        report: DeliveryReport,
        now: datetime,
        done: list[outbox.Finished],
    ) -> None:
        attempts = row.attempts + 1
        if attempts >= self.settings.max_attempts:
            self._failed(row, f"gave up after {attempts} attempts: {error}", report, done)
            return
        delay = retry_delay(self.settings, attempts)
        outbox.defer(session, row.id, attempts, error, now + delay)
        report.deferred += 1
        self.log.warning("delivery deferred, will retry in %d s: %s", delay.total_seconds(), error)
