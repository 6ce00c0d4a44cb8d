"""The blobs table: bytes our mail carries, kept once by SHA-256 whatever refers to them.

Keeping is idempotent and safe beside another transaction keeping the same bytes (INSERT …
ON CONFLICT DO NOTHING on SQLite and PostgreSQL); within one transaction each blob is written
at most once, however many messages carry it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import LargeBinary, bindparam, delete, event, exists, select, text

from intake.store.db import Session
from intake.store.models import Attachment, Blob, OutboxBody

_KEPT = "smat.blobs"  # session.info key: the blobs this transaction has written or read, by SHA-256


def _memo(session: Session) -> dict[str, bytes]:
    """This session's blobs by SHA-256; forgotten when anything in it is rolled back (a savepoint too)."""
    memo: dict[str, bytes] | None = session.info.get(_KEPT)
    if memo is None:
        memo = session.info[_KEPT] = {}
        event.listen(session, "after_soft_rollback", lambda s, _previous: s.info.get(_KEPT, {}).clear())
    return memo


# A file kept twice is kept once. The same text on SQLite and PostgreSQL: the dialects' INSERT … ON
# CONFLICT has no cache key, so SQLAlchemy compiled it again for every file.
_KEEP = text("INSERT INTO blobs (sha256, size, data) VALUES (:sha256, :size, :data) ON CONFLICT DO NOTHING").bindparams(
    bindparam("data", type_=LargeBinary())
)


def keep(session: Session, data: bytes, sha256: str = "") -> str:
    """Keep `data` once by its SHA-256 (given, or computed) and return the SHA-256."""
    sha = sha256 or hashlib.sha256(data).hexdigest()
    memo = _memo(session)
    if sha in memo:
        return sha
    session.execute(_KEEP, {"sha256": sha, "size": len(data), "data": data})
    memo[sha] = data
    return sha


def load(session: Session, sha256: str) -> bytes:
    """The bytes of one blob (this transaction's memo first, else the table)."""
    memo = _memo(session)
    found = memo.get(sha256)
    if found is None:
        found = session.scalars(select(Blob.data).where(Blob.sha256 == sha256)).one()
    return found


def forget_unused(session: Session, candidates: Iterable[str]) -> int:
    """Delete those of `candidates` no attachment and no outgoing message refers to any more; how many.

    For erasing personal data: clear the references first (attachments, outbox bodies), then
    call this with the SHA-256s they held, so bytes shared with another item stay.
    """
    shas = sorted(set(candidates))
    if not shas:
        return 0
    used = set(session.scalars(select(Attachment.sent_sha256).where(Attachment.sent_sha256.in_(shas))))
    for body_parts in session.scalars(select(OutboxBody.parts)):
        used.update(str(sha) for _, sha in body_parts or ())
    unused = [sha for sha in shas if sha not in used]
    if unused:
        still = exists().where(Attachment.sent_sha256 == Blob.sha256)
        session.execute(delete(Blob).where(Blob.sha256.in_(unused), ~still))
        memo = _memo(session)
        for sha in unused:
            memo.pop(sha, None)
    return len(unused)
