"""A durable count of the times processing a message was started, so a poison message cannot loop forever.

Each start is committed before any work; the row is removed in the transaction that keeps the
message. A message that kills the process (or the database refuses) every time is therefore
seen, on its next arrival, as already started MAX_ATTEMPTS times, and is quarantined unread.
The count survives a killed process without waiting for the disk (SQLite's synchronous=NORMAL
connection, PostgreSQL's synchronous_commit off): a power cut costs such a message one more try.
"""

from __future__ import annotations

from sqlalchemy import delete, select, text
from sqlalchemy.dialects import postgresql, sqlite

from intake.store.db import Session, Sessions
from intake.store.models import IntakeAttempt, utcnow
from intake.store.unit import transaction

MAX_ATTEMPTS = 3


def begin(sessions: Sessions, sha256: str, source_key: str | None) -> int:
    """Count one more start of processing these bytes, committed now; how many starts before this one.

    One upsert: atomic with two instances on PostgreSQL, and one statement on the hot path.
    """
    with transaction(sessions, "count the attempt") as session:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":  # survives a killed process; a server crash costs one more try at most
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        now = utcnow()
        counted = session.execute(
            insert(IntakeAttempt)
            .values(sha256=sha256, attempts=1, source_key=source_key, first_at=now, last_at=now)
            .on_conflict_do_update(
                index_elements=["sha256"], set_={"attempts": IntakeAttempt.attempts + 1, "last_at": now}
            )
            .returning(IntakeAttempt.attempts)
        ).scalar_one()
    return int(counted) - 1


def finish(session: Session, sha256: str) -> None:
    """The message is kept (or quarantined): forget its attempts, in the caller's transaction."""
    session.execute(delete(IntakeAttempt).where(IntakeAttempt.sha256 == sha256))


def interrupted(session: Session, prefix: str, limit: int = 10_000) -> set[str]:
    """What follows `prefix` in the source keys of messages started and never finished (normally none)."""
    started = IntakeAttempt.source_key.startswith(prefix, autoescape=True)
    keys = session.scalars(select(IntakeAttempt.source_key).where(started).limit(limit))
    return {key[len(prefix) :] for key in keys if key}
