"""A durable count of the times processing a message was started, so a poison message cannot loop forever.

Each start is committed before any work; the row is removed in the transaction that keeps the
message. A message that kills the process (or the database refuses) every time is therefore
seen, on its next arrival, as already started MAX_ATTEMPTS times, and is quarantined unread.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from intake.errors import StorageConflict
from intake.store.db import Session, Sessions
from intake.store.models import IntakeAttempt, utcnow
from intake.store.unit import transaction

MAX_ATTEMPTS = 3


def begin(sessions: Sessions, sha256: str, source_key: str | None) -> int:
    """Count one more start of processing these bytes, committed now; how many starts before this one."""
    for _ in range(2):  # a second instance may insert the same row first: then count on it
        try:
            with transaction(sessions, "count the attempt") as session:
                row = session.get(IntakeAttempt, sha256, with_for_update=True)
                if row is None:
                    session.add(IntakeAttempt(sha256=sha256, attempts=1, source_key=source_key))
                    session.flush()
                    return 0
                before = row.attempts
                row.attempts, row.last_at = before + 1, utcnow()
                return before
        except StorageConflict:
            continue
    raise StorageConflict("the database could not count the attempt: the row was taken twice")


def finish(session: Session, sha256: str) -> None:
    """The message is kept (or quarantined): forget its attempts, in the caller's transaction."""
    session.execute(delete(IntakeAttempt).where(IntakeAttempt.sha256 == sha256))


def interrupted(session: Session, prefix: str, limit: int = 10_000) -> set[str]:
    """What follows `prefix` in the source keys of messages started and never finished (normally none)."""
    started = IntakeAttempt.source_key.startswith(prefix, autoescape=True)
    keys = session.scalars(select(IntakeAttempt.source_key).where(started).limit(limit))
    return {key[len(prefix) :] for key in keys if key}
