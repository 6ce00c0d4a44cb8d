"""Roster changes asked for by email and waiting for their keyed CONFIRM: issue, find, settle.

A request's key is a reply key (`intake.replykeys`) for item 0 — no item — bound to the
person who must confirm; only its digest is kept, as for review requests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select

from intake.replykeys import key_digest, key_from_address, new_key, verify_key
from intake.store.db import Session
from intake.store.models import OutboxMessage, RosterRequest, utcnow
from intake.vocab import RequestState

NO_ITEM = 0  # the item id roster keys are signed for: items start at 1


def issue(
    session: Session,
    secret: bytes,
    action: str,
    email: str,
    name: str,
    requested_by: str,
    confirmer: str,
    message_id: int | None,
) -> tuple[RosterRequest, str]:
    """A pending request and the key (to put in the confirmation mail's Reply-To) that confirms it."""
    key = new_key(secret, NO_ITEM, confirmer)
    row = RosterRequest(
        action=action,
        name=name,
        email=email.lower(),
        requested_by=requested_by.lower(),
        confirmer=confirmer.lower(),
        requested_at=utcnow(),
        key_digest=key_digest(key),
        message_id=message_id,
        state=RequestState.PENDING,
    )
    session.add(row)
    session.flush()
    return row, key


def by_key(session: Session, secret: bytes, addresses: Iterable[str], our_address: str) -> RosterRequest | None:
    """The request a plus-address key in these addresses confirms, if one carries a valid roster key."""
    for address in addresses:
        key = key_from_address(address, our_address)
        if key is None:
            continue
        row = session.scalars(select(RosterRequest).where(RosterRequest.key_digest == key_digest(key))).first()
        if row is not None and verify_key(secret, key, NO_ITEM, row.confirmer):
            return row
    return None


def by_message_id(session: Session, message_ids: Sequence[str], our_domain: str) -> RosterRequest | None:
    """The request whose confirmation mail has one of these Message-IDs (the plus-address was stripped)."""
    ours = [m for m in message_ids if m.lower().endswith("@" + our_domain.lower())]
    if not ours:
        return None
    return session.scalars(
        select(RosterRequest)
        .join(OutboxMessage, OutboxMessage.id == RosterRequest.outbox_id)
        .where(OutboxMessage.message_id.in_(ours))
        .order_by(RosterRequest.id.desc())
    ).first()


def settle(row: RosterRequest) -> None:
    """Mark a request done: its key confirms nothing more."""
    row.state, row.settled_at = RequestState.DONE, utcnow()


def pending(session: Session) -> Sequence[RosterRequest]:
    """Requests still waiting for their CONFIRM, oldest first."""
    return session.scalars(
        select(RosterRequest).where(RosterRequest.state == RequestState.PENDING).order_by(RosterRequest.id)
    ).all()
