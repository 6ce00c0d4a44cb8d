"""Draining the outbox: claim due mail, hand it to the transport, record what happened.

A 4xx or an unreachable relay puts the message back with a growing delay; a 5xx marks it
failed; recipients refused one by one are recorded. A claim older than `STALE_CLAIM` (the
process died mid-send) is released, so mail is delayed by a crash, never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from intake.config import Outbox
from intake.delivery.transport import PermanentFailure, TemporaryFailure, Transport
from intake.store import outbox
from intake.store.db import Sessions
from intake.store.models import OutboxMessage, utcnow
from intake.store.outbox import Delivery
from intake.store.unit import reading, transaction

STALE_CLAIM = timedelta(minutes=10)
BATCH = 20
MAX_DELAY = timedelta(hours=1)


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


class OutboxDrain:
    """Delivers what is due; safe to run from several processes on one PostgreSQL database."""

    def __init__(
        self,
        sessions: Sessions,
        transport_factory: Callable[[], Transport],
        settings: Outbox,
        log: logging.Logger | None = None,
    ) -> None:
        self.sessions = sessions
        self.transport_factory = transport_factory
        self.settings = settings
        self.log = log or logging.getLogger("intake.delivery")

    def _claim(self, now: datetime) -> list[OutboxMessage]:
        with transaction(self.sessions, "claim mail to send") as session:
            return outbox.claim_due(session, now, BATCH, STALE_CLAIM)

    def deliver_due(self, now: datetime | None = None) -> DeliveryReport:
        """Send everything due now; stop early (and say so) when the relay is unreachable."""
        report = DeliveryReport()
        transport: Transport | None = None
        try:
            while True:
                current = now or utcnow()
                rows = self._claim(current)
                if not rows:
                    break
                if transport is None:
                    transport = self.transport_factory()
                for index, row in enumerate(rows):
                    try:
                        refused = transport.send(row.mail_from, row.recipients, row.raw)
                    except TemporaryFailure as exc:
                        self._defer(row, str(exc), report, current)
                        # The relay is down: put the rest of the batch back untouched and stop.
                        self._release(rows[index + 1 :])
                        report.problem = str(exc)
                        return report
                    except PermanentFailure as exc:
                        self._finish(row, Delivery.FAILED, str(exc), {})
                        report.failed += 1
                        continue
                    self._finish(row, Delivery.SENT, "", refused)
                    report.sent += 1
        finally:
            if transport is not None:
                transport.close()
            report.waiting = self.waiting()
        return report

    def waiting(self) -> int:
        """How many messages are still waiting to go."""
        with reading(self.sessions, "count the mail waiting") as session:
            return outbox.count_waiting(session)

    def _finish(self, row: OutboxMessage, status: Delivery, error: str, refused: dict[str, str]) -> None:
        with transaction(self.sessions, "record a delivery") as session:
            outbox.finish(session, row, status, error, refused)
        if status == Delivery.FAILED:
            self.log.error("%s to %s failed for good: %s", row.purpose, ", ".join(row.recipients), error)

    def _defer(self, row: OutboxMessage, error: str, report: DeliveryReport, now: datetime) -> None:
        attempts = row.attempts + 1
        if attempts >= self.settings.max_attempts:
            self._finish(row, Delivery.FAILED, f"gave up after {attempts} attempts: {error}", {})
            report.failed += 1
            return
        delay = retry_delay(self.settings, attempts)
        with transaction(self.sessions, "record a deferred delivery") as session:
            outbox.defer(session, row.id, attempts, error, now + delay)
        report.deferred += 1
        self.log.warning("delivery deferred, will retry in %d s: %s", delay.total_seconds(), error)

    def _release(self, rows: list[OutboxMessage]) -> None:
        if not rows:
            return
        with transaction(self.sessions, "put mail back in the queue") as session:
            outbox.release(session, [r.id for r in rows])
