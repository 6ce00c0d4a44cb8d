"""Where the IMAP source is in each folder: its UIDVALIDITY, the last UID taken in, the first-run baseline.

The position is a convenience (the source keys of kept messages are the guarantee against
taking a message twice); it lets a pass skip what it has already moved on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from intake.store.db import Session
from intake.store.models import MailboxNote, MailboxState, utcnow

RENUMBERED = "renumbered"  # a mailbox note's kind: the server gave the folder a new UIDVALIDITY


@dataclass(frozen=True)
class Entered:
    """The folder's baseline (UIDs at or below it were there before we first looked) and any renumbering."""

    baseline_uid: int
    renumbered_from: int | None = None  # the old UIDVALIDITY, if the server renumbered the folder


def enter_folder(session: Session, folder_key: str, uidvalidity: int, first_baseline: int) -> Entered:
    """Read the folder's position; on first sight start it at `first_baseline`, after a renumbering at 0."""
    state = session.get(MailboxState, folder_key)
    if state is None:
        session.add(
            MailboxState(
                folder_key=folder_key,
                uidvalidity=uidvalidity,
                last_uid=first_baseline,
                baseline_uid=first_baseline,
                updated_at=utcnow(),
            )
        )
        return Entered(first_baseline)
    if state.uidvalidity != uidvalidity:
        old = state.uidvalidity
        state.uidvalidity, state.last_uid, state.baseline_uid, state.updated_at = uidvalidity, 0, 0, utcnow()
        session.add(MailboxNote(folder_key=folder_key, kind=RENUMBERED, detail=f"UIDVALIDITY {old} to {uidvalidity}"))
        return Entered(0, renumbered_from=old)
    return Entered(state.baseline_uid)


def record_last_uid(session: Session, folder_key: str, uidvalidity: int, uid: int) -> None:
    """Move the folder's position on to `uid`, unless it is already past it or the folder was renumbered."""
    state = session.get(MailboxState, folder_key)
    if state is not None and state.uidvalidity == uidvalidity and uid > state.last_uid:
        state.last_uid, state.updated_at = uid, utcnow()


def record_quiet(session: Session, folder_key: str, uidvalidity: int, uidnext: int, messages: int) -> None:
    """Remember how a pass that left nothing behind left the folder (see `is_quiet`)."""
    state = session.get(MailboxState, folder_key)
    if state is not None and state.uidvalidity == uidvalidity:
        state.quiet_uidnext, state.quiet_messages = uidnext, messages


def is_quiet(session: Session, folder_key: str, uidvalidity: int, uidnext: int, messages: int) -> bool:
    """Whether the folder is as the last clean pass left it: no UID given out since, none removed.

    UIDNEXT only grows, so an unchanged UIDNEXT means nothing arrived; an unchanged count then
    means nothing was taken away either, so nothing of ours waits there.
    """
    state = session.get(MailboxState, folder_key)
    return (
        state is not None
        and state.uidvalidity == uidvalidity
        and (state.quiet_uidnext, state.quiet_messages) == (uidnext, messages)
    )


def notes(session: Session, start: datetime, end: datetime) -> list[MailboxNote]:
    """The mailbox notes of the period [start, end), oldest first (for the Clerk's digest)."""
    return list(
        session.scalars(
            select(MailboxNote).where(MailboxNote.at >= start, MailboxNote.at < end).order_by(MailboxNote.at)
        )
    )
