"""A durable count of the times processing a message was started, so a poison message cannot loop forever.

Each start is committed before any work; the row is removed in the transaction that keeps the
message. A message that kills the process (or the database refuses) every time is therefore
seen, on its next arrival, as already started MAX_ATTEMPTS times, and is quarantined unread.
The count survives a killed process without waiting for the disk (SQLite's synchronous=NORMAL
connection, PostgreSQL's synchronous_commit off): a power cut costs such a message one more try.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select, text

from intake.store.db import Session, Sessions
from intake.store.models import IntakeAttempt, utcnow
from intake.store.unit import single_statement

MAX_ATTEMPTS = 3


# One upsert, the same text on SQLite and PostgreSQL; SQLAlchemy's dialect INSERT … ON CONFLICT is not
# cacheable and was compiled again for every message (0.13 ms each).
_COUNT = text(
    "INSERT INTO intake_attempts (sha256, attempts, source_key, first_at, last_at)"
    " VALUES (:sha256, 1, :source_key, :now, :now)"
    " ON CONFLICT (sha256) DO UPDATE SET attempts = intake_attempts.attempts + 1, last_at = :now"
    " RETURNING attempts"
).bindparams(bindparam("now", type_=IntakeAttempt.__table__.c.last_at.type))
_FORGET = delete(IntakeAttempt).where(IntakeAttempt.sha256 == bindparam("sha256"))


def begin(sessions: Sessions, sha256: str, source_key: str | None) -> int:
    """Count one more start of processing these bytes, committed now; how many starts before this one.

    One upsert: atomic with two instances on PostgreSQL, and one round trip on the hot path (no transaction).
    `sessions` should be those of an engine whose commits do not wait for the disk (`make_engine(durable=False)`):
    a server crash costs such a message one more try at most.
    """
    params = {"sha256": sha256, "source_key": source_key, "now": utcnow()}
    with single_statement(sessions, "count the attempt") as connection:
        counted = connection.execute(_COUNT, params).scalar_one()
    return int(counted) - 1


def finish(session: Session, sha256: str) -> None:
    """The message is kept (or quarantined): forget its attempts, in the caller's transaction."""
    session.connection().execute(_FORGET, {"sha256": sha256})


def interrupted(session: Session, prefix: str, limit: int = 10_000) -> set[str]:
    """What follows `prefix` in the source keys of messages started and never finished (normally none)."""
    started = IntakeAttempt.source_key.startswith(prefix, autoescape=True)
    keys = session.scalars(select(IntakeAttempt.source_key).where(started).limit(limit))
    return {key[len(prefix) :] for key in keys if key}
