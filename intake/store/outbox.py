"""The outbox table: mail queued in the transaction that caused it, then claimed, sent, deferred.

Queueing takes the caller's session (the transactional outbox). On PostgreSQL the delivery
side locks one due row in the transaction that sends it and records the result there, so the
lock dies with a killed process's connection and two processes never send one row; on
SQLite (one instance) it claims a batch in one short transaction and records each result in
another, and a starting drain releases the claims a dead process left behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import BindParameter, ColumnElement, Table, and_, bindparam, func, insert, or_, select, update

from intake.assembly import PACKED, EncodedParts, pack, refs_from_json, refs_to_json, splice, unpack
from intake.replykeys import key_digest, new_key, plus_address
from intake.store import blobs
from intake.store.db import Session, Sessions, commit_without_waiting
from intake.store.history import SYSTEM_ACTOR, add_lines_by_id, lines_from
from intake.store.models import Event, Item, OutboxBody, OutboxMessage, ReplyKey, utcnow
from intake.store.unit import reading
from intake.vocab import EventKind

if TYPE_CHECKING:  # the templates (Jinja) are not loaded just to name these types
    from intake.render import Composer, Outgoing, Recipient


class Delivery(StrEnum):
    """Where one outbox row is on its way out."""

    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a process that is sending it now
    SENT = "sent"
    FAILED = "failed"  # refused for good, or too many attempts


WAITING = (Delivery.PENDING, Delivery.SENDING)
_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]


def outbox_row(out: Outgoing, item_id: int | None, session: Session | None = None) -> OutboxMessage:
    """A rendered message as a pending outbox row, due now (about an item, or about none: the digest).

    The row keeps the message's compressed skeleton and refers to its files, kept once each in
    `blobs` through `session`; without a session (or with no files) the whole message is kept.
    """
    now = utcnow()
    body = OutboxBody(**_body(out, session))
    return OutboxMessage(
        item_id=item_id,
        purpose=out.purpose,
        message_id=out.message_id,
        mail_from=out.mail_from,
        recipients=list(out.recipients),
        body=body,
        status=Delivery.PENDING,
        created_at=now,
        next_attempt_at=now,
    )


def _body(out: Outgoing, session: Session | None) -> dict[str, Any]:
    """What an outbox body keeps: the compressed skeleton and its files' places (the files kept in `blobs`
    through `session`), or, without a session or files, the whole message compressed."""
    if out.parts and session is not None:
        for sha, data in out.files.items():
            blobs.keep(session, data, sha)
        return {"raw": pack(out.skeleton), "parts": refs_to_json(out.parts), "packing": PACKED}
    return {"raw": pack(out.raw), "parts": [], "packing": PACKED}


def message_bytes(reader: Session | Sessions, row: OutboxMessage, encoded: EncodedParts) -> bytes:
    """The complete message of an outbox row, its files' encoded bodies from `encoded` (each encoded once).

    `reader` is the caller's session, or a session factory from which a file not yet encoded is read
    in a read-only transaction of its own (a message with no files, or files already encoded, reads none).
    """
    skeleton = unpack(row.body.raw, row.body.packing)
    parts = refs_from_json(row.body.parts)
    if not parts:
        return skeleton

    def load(wanted: str) -> bytes:
        if isinstance(reader, Session):
            return blobs.load(reader, wanted)
        with reading(reader, "read a file to send") as session:
            return blobs.load(session, wanted)

    return splice(skeleton, parts, lambda sha: encoded.get(sha, load))


# Built once: every draft queues four mails, and building an INSERT costs more than running it.
_BODIES: Table = OutboxBody.__table__  # type: ignore[assignment]
_NEW_ROWS = insert(_OUTBOX).returning(_OUTBOX.c.id, sort_by_parameter_order=True)  # ids in the order given
_NEW_BODY = insert(_BODIES)
_NEW_KEY = insert(ReplyKey.__table__)  # type: ignore[arg-type]


def _write(session: Session, item: Item, mails: Sequence[tuple[Outgoing, str]]) -> list[int]:
    """The outbox rows and bodies of `mails` (each a message and its history line's kind), each noted in the
    item's history; their ids.

    One statement each for the rows, the bodies and the history lines, whatever the number of mails
    (on PostgreSQL a statement is a round trip; a draft's acknowledgement and review requests are four mails).
    """
    if not mails:  # no reviewer on the roster, and no acknowledgement: nothing to write
        return []
    outs = [out for out, _ in mails]
    connection, now = session.connection(), utcnow()
    rows = [
        {
            "item_id": item.id,
            "purpose": out.purpose,
            "message_id": out.message_id,
            "mail_from": out.mail_from,
            "recipients": list(out.recipients),
            "status": str(Delivery.PENDING),
            "created_at": now,
            "next_attempt_at": now,
        }
        for out in outs
    ]
    ids = list(connection.execute(_NEW_ROWS, rows).scalars())
    connection.execute(
        _NEW_BODY, [{"outbox_id": row_id, **_body(out, session)} for row_id, out in zip(ids, outs, strict=True)]
    )
    lines: list[tuple[int, str, str, str, dict[str, object]]] = [
        (item.id, kind, SYSTEM_ACTOR, f"{out.purpose} to {', '.join(out.recipients)}", {"outbox_id": row_id})
        for row_id, (out, kind) in zip(ids, mails, strict=True)
    ]
    add_lines_by_id(session, lines)
    return ids


def queue_keyed_mail(
    session: Session,
    composer: Composer,
    secret: bytes,
    item: Item,
    to: Recipient,
    purpose: str,
    context: dict[str, Any],
    event_kind: str,
    **compose_options: Any,
) -> int:
    """Queue mail to one person whose Reply-To carries a fresh key bound to them and this item; the row's id.

    The key's digest is recorded with the outbox row, so a reply by plus-address or by
    In-Reply-To leads back to both the person and the item. The key is not in the context:
    it stays out of the body, so forwarding the text of the mail does not forward it.
    """
    return queue_keyed_mails(session, composer, secret, item, [to], purpose, context, event_kind, **compose_options)[0]


def queue_keyed_mails(
    session: Session,
    composer: Composer,
    secret: bytes,
    item: Item,
    recipients: Sequence[Recipient],
    purpose: str,
    context: dict[str, Any],
    event_kind: str,
    *,
    before: Sequence[tuple[Outgoing, str]] = (),
    **compose_options: Any,
) -> list[int]:
    """`queue_keyed_mail` to each of `recipients`, each with a key of their own; the rows' ids.

    `before`: mail without a key (each with its history line's kind) written first in the same statements,
    as a draft's acknowledgement is with its review requests; its ids are not returned.
    """
    keys, outs = [], []
    for to in recipients:
        key = new_key(secret, item.id, to.email)
        reply_to = plus_address(composer.from_address, key)
        outs.append(composer.compose(purpose, to, context, ref=item.ref, reply_to=reply_to, **compose_options))
        keys.append(key)
    ids = _write(session, item, [*before, *((out, event_kind) for out in outs)])[len(before) :]
    if not ids:
        return ids
    issued = utcnow()
    session.connection().execute(
        _NEW_KEY,
        [
            {
                "digest": key_digest(key),
                "item_id": item.id,
                "email": to.email.lower(),
                "purpose": purpose,
                "issued_at": issued,
                "outbox_id": row_id,
                "used_for": [],
                "revision": 1,
            }
            for key, to, row_id in zip(keys, recipients, ids, strict=True)
        ],
    )
    return ids


# --- the delivery side ---------------------------------------------------------------------


def _stale_claim(before: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """A row claimed ("sending") before `before` (now less the lease): its sender hung or died, or is an older
    version. `before` may be a bind parameter, for a statement built once."""
    return and_(OutboxMessage.status == Delivery.SENDING, OutboxMessage.claimed_at < before)


def claim_due(session: Session, now: datetime, batch: int, stale_after: timedelta) -> list[OutboxMessage]:
    """SQLite: release claims older than `stale_after` (a lease), then claim up to `batch` due rows for this process."""
    session.execute(update(OutboxMessage).where(_stale_claim(now - stale_after)).values(status=Delivery.PENDING))
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == Delivery.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)  # the index's order: no sort of a backlog
        .limit(batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # another process's claim is skipped, not waited for
    rows = list(session.scalars(query))
    for row in rows:
        row.status = Delivery.SENDING
        row.claimed_at = now
    return rows


def due_ids(session: Session, now: datetime, batch: int, stale_after: timedelta) -> list[int]:
    """PostgreSQL: the ids of up to `batch` rows due now, oldest first, locking none (`lock_row` locks each).

    A row left "sending" by an older version's claim counts as due once that claim is older than `stale_after`.
    One ordered scan for a batch: a scan for every mail stepped over every row sent since the last vacuum.
    """
    # Oldest due first, in the order of the (status, next_attempt_at) index: a backlog of thousands
    # waiting is not sorted again for each batch.
    due = select(OutboxMessage.id).where(OutboxMessage.next_attempt_at <= now)
    ids = list(
        session.scalars(
            due.where(OutboxMessage.status == Delivery.PENDING)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(batch)
        )
    )
    if len(ids) < batch:
        stale = due.where(_stale_claim(now - stale_after))
        ids += session.scalars(stale.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(batch - len(ids)))
    return ids


def lock_row(session: Session, row_id: int, now: datetime, stale_after: timedelta) -> OutboxMessage | None:
    """PostgreSQL: lock row `row_id` for this transaction if it is still due and no other transaction has it.

    The caller sends the row and records the result in this same transaction, so the row lock lasts
    exactly as long as the send and dies with the connection of a process killed mid-send. None: another
    sender holds it (SKIP LOCKED: not waited for) or has sent it since `due_ids` (the condition is checked
    again on the row as it is now).
    """
    params = {"row_id": row_id, "now": now, "stale_before": now - stale_after}
    return session.scalars(_LOCK_ROW, params).first()


# Built once, as _FINISH below: the delivery loop locks every mail with it.
_LOCK_ROW = (
    select(OutboxMessage)
    .where(
        OutboxMessage.id == bindparam("row_id"),
        OutboxMessage.next_attempt_at <= bindparam("now"),
        or_(OutboxMessage.status == Delivery.PENDING, _stale_claim(bindparam("stale_before"))),
    )
    # FOR NO KEY UPDATE: inserts that only reference the row (history events) are not blocked by the lock
    .with_for_update(skip_locked=True, key_share=True)
)


def claimed(session: Session, row_ids: Sequence[int]) -> list[OutboxMessage]:
    """SQLite: those of rows `row_ids` still claimed ("sending"), for recording sends a stopped process made."""
    if not row_ids:
        return []
    query = select(OutboxMessage).where(OutboxMessage.id.in_(list(row_ids)), OutboxMessage.status == Delivery.SENDING)
    return list(session.scalars(query))


def release_all_claims(session: Session) -> int:
    """SQLite, when a drain starts: put back every row left "sending" (its claimer is dead); how many."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == Delivery.SENDING)
        .values(status=Delivery.PENDING, claimed_at=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# Built once: the delivery loop records every mail with these, and building a statement costs
# more than running it.
_FINISH = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"))
    .values(
        status=bindparam("status"),
        attempts=_OUTBOX.c.attempts + 1,
        sent_at=bindparam("sent_at"),
        last_error=bindparam("last_error"),
        refused=bindparam("refused"),
        claimed_at=None,
    )
)


# PostgreSQL: a row's result and its history line in one statement, one round trip a mail.
_DONE = _FINISH.returning(_OUTBOX.c.item_id).cte("done")
_LINE = [bindparam(name, type_=Event.__table__.c[name].type) for name in ("at", "actor", "kind", "detail", "data")]
_FINISH_AND_TELL = lines_from(select(_DONE.c.item_id, *_LINE).where(_DONE.c.item_id.is_not(None))).add_cte(_DONE)

Finished = tuple[OutboxMessage, Delivery, str, dict[str, str]]  # a row; sent or failed; why it failed; refused


def finish(session: Session, done: Sequence[Finished]) -> None:
    """Record rows as sent (with any recipients refused one by one) or failed, and say so in their items' history.

    One statement for the rows and one for the history lines, however many: on SQLite a batch of sent mail is
    recorded while taking mail in waits for the one write lock. On PostgreSQL, where each mail is recorded in
    the transaction that sent it, one statement does both.
    """
    if not done:
        return
    commit_without_waiting(session)  # a crash's loss: the mail goes again, with the same Message-ID
    at = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "row_id": row.id,
            "status": str(status),
            "sent_at": at if status == Delivery.SENT else None,
            "last_error": error,
            "refused": refused,
            "at": at,  # its history line, under names no outbox column has (the UPDATE would set those)
            "actor": SYSTEM_ACTOR,
            "data": {"outbox_id": row.id},
            "kind": str(EventKind.MAIL_SENT if status == Delivery.SENT else EventKind.MAIL_FAILED),
            "detail": _told(row, status, error, refused),
        }
        for row, status, error, refused in done
    ]
    connection = session.connection()  # plain statements: the rows' objects are not used after this
    if connection.dialect.name == "postgresql":
        connection.execute(_FINISH_AND_TELL, rows)
        return
    connection.execute(_FINISH, rows)
    lines = [
        (row.item_id, r["kind"], r["actor"], r["detail"], r["data"])
        for (row, *_), r in zip(done, rows, strict=True)
        if row.item_id is not None
    ]
    add_lines_by_id(session, lines)


def _told(row: OutboxMessage, status: Delivery, error: str, refused: dict[str, str]) -> str:
    """The history line for a row sent or failed."""
    to = ", ".join(row.recipients)
    if status != Delivery.SENT:
        return f"{row.purpose} to {to} could not be delivered: {error}"
    if refused:
        return f"{row.purpose} delivered to {to}; refused: {', '.join(f'{k} ({v})' for k, v in refused.items())}"
    return f"{row.purpose} delivered to {to}"


def defer(session: Session, row_id: int, attempts: int, error: str, next_attempt_at: datetime) -> None:
    """Put a claimed row back to be tried again at `next_attempt_at`."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(
            status=Delivery.PENDING,
            attempts=attempts,
            last_error=error,
            next_attempt_at=next_attempt_at,
            claimed_at=None,
        )
    )


def release(session: Session, row_ids: Sequence[int]) -> None:
    """Put claimed rows back untouched (the relay went away before their turn)."""
    if not row_ids:
        return
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(list(row_ids)))
        .values(status=Delivery.PENDING, claimed_at=None)
    )


def count_waiting(session: Session) -> int:
    """How many messages are still waiting to go (due later, or being sent now)."""
    return session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(WAITING))) or 0
