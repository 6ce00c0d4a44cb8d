"""THE one writer of the roster and account-register audit log (append-only, like an item's history)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from intake.store.db import Session
from intake.store.models import AuditLine, utcnow


def audit(
    session: Session,
    area: str,
    action: str,
    actor: str,
    subject: str,
    detail: str = "",
    message_id: int | None = None,
) -> AuditLine:
    """Append one line: who did what to which member or account, and why, in the caller's transaction."""
    line = AuditLine(
        at=utcnow(), area=area, action=action, actor=actor, subject=subject, detail=detail, message_id=message_id
    )
    session.add(line)
    return line


def lines(session: Session, area: str | None = None) -> Sequence[AuditLine]:
    """The audit log, oldest first, of one area or all."""
    query = select(AuditLine).order_by(AuditLine.id)
    if area is not None:
        query = query.where(AuditLine.area == area)
    return session.scalars(query).all()
