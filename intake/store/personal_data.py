"""Personal data under UK GDPR: what is held about a person, retention, and erasure except public record.

Every erasure goes through `anonymise_item` and the `_blank_*` helpers here, so a change in
how bytes are stored (attachments, outgoing mail) changes this one module. An anonymised item
keeps its ref, kind, dates and outcome; its raw mail, files, text, addresses and the words of
its history are erased. Published items (status posted) and their approvals are public record
(policy §6.6) and are never erased. History lines are blanked, never deleted: the database
allows that only while this transaction holds an open `erasures` row (migration 0012).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, cast, delete, exists, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, selectinload
from sqlalchemy.sql.elements import ColumnElement

from intake.store import blobs
from intake.store.db import Session
from intake.store.history import SYSTEM_ACTOR, add_event
from intake.store.models import (
    Attachment,
    AuditLine,
    Erasure,
    Event,
    Item,
    Member,
    Message,
    OutboxBody,
    OutboxMessage,
    ReplyKey,
    utcnow,
)
from intake.store.outbox import Delivery
from intake.vocab import EventKind, Status

ERASED = "[erased]"  # what stands where an address or words were erased
ROSTER_RECORD = (
    "the record of who may approve posts for the council (policy 6.2) and who changed it; the Clerk removes "
    "a member with `smat-intake roster remove`, and the audit of that change is kept"
)
PUBLIC_RECORD = "published, so public record under policy §6.6 (kept with its approvals)"


@dataclass(frozen=True)
class Person:
    """Whose data: a test for "is this address theirs", and what narrows the search in SQL."""

    matches: Callable[[str], bool]  # every address of theirs, case and sub-address tags aside
    domains: tuple[str, ...]  # the domains of their addresses, lower case
    addresses: tuple[str, ...]  # their addresses, lower case, as they may be written in a history line


@dataclass
class Held:
    """Everything held about one person."""

    items: list[Item] = field(default_factory=list)  # items they sent, with messages, files and history
    messages: list[Message] = field(default_factory=list)  # their other messages (replies, automatic mail)
    events: list[Event] = field(default_factory=list)  # lines of other items' history naming them
    outbox: list[OutboxMessage] = field(default_factory=list)  # mail to them
    members: list[Member] = field(default_factory=list)  # their place on the SMAT roster, past or present
    audit: list[AuditLine] = field(default_factory=list)  # roster and register changes made by or about them


@dataclass
class ErasureReport:
    """What an erasure did, and what it kept and why (one line per kept thing)."""

    erased_items: list[str] = field(default_factory=list)
    messages: int = 0
    attachments: int = 0
    outgoing: int = 0
    history_lines: int = 0
    kept: list[tuple[str, str]] = field(default_factory=list)  # (what, why)

    @property
    def anything(self) -> bool:
        """Whether anything was (or would be) erased."""
        return bool(self.erased_items or self.messages or self.attachments or self.outgoing or self.history_lines)

    def summary(self) -> dict[str, object]:
        """Counts and refs for the erasures table: nothing that names the person."""
        return {
            "items": list(self.erased_items),
            "messages": self.messages,
            "attachments": self.attachments,
            "outgoing": self.outgoing,
            "history_lines": self.history_lines,
            "kept": [what for what, _ in self.kept],
        }


# --- finding ---------------------------------------------------------------------------------


def _address_like(column: InstrumentedAttribute[str], person: Person) -> ColumnElement[bool]:
    """A SQL prefilter: the column's value ends in one of their domains (the exact test is in Python)."""
    return or_(*(func.lower(column).like(f"%@{domain}") for domain in person.domains))


def find_held(session: Session, person: Person) -> Held:
    """Everything held about `person`: their items, other messages, history lines naming them, mail to them."""
    items = [
        item
        for item in session.scalars(
            select(Item)
            .where(_address_like(Item.sender, person))
            .options(selectinload(Item.messages), selectinload(Item.attachments), selectinload(Item.events))
            .order_by(Item.id)
        )
        if person.matches(item.sender)
    ]
    own_items = {item.id for item in items}
    messages = [
        row
        for row in session.scalars(select(Message).where(_address_like(Message.sender, person)).order_by(Message.id))
        if person.matches(row.sender) and row.item_id not in own_items
    ]
    named = or_(
        _address_like(Event.actor, person),
        *(func.lower(Event.detail).contains(address, autoescape=True) for address in person.addresses),
    )
    events = [
        event
        for event in session.scalars(select(Event).where(named).order_by(Event.id))
        if event.item_id not in own_items and _names(event, person)
    ]
    recipients_text = func.lower(cast(OutboxMessage.recipients, String))
    outbox = [
        row
        for row in session.scalars(
            select(OutboxMessage)
            .where(or_(*(recipients_text.contains(domain, autoescape=True) for domain in person.domains)))
            .order_by(OutboxMessage.id)
        )
        if any(person.matches(address) for address in row.recipients)
    ]
    members = [
        row
        for row in session.scalars(select(Member).order_by(Member.id))
        if any(person.matches(address) for address in [row.email, *(row.other_addresses or [])])
    ]
    audit = [
        line
        for line in session.scalars(
            select(AuditLine).where(
                or_(_address_like(AuditLine.actor, person), _address_like(AuditLine.subject, person))
            )
        )
        if person.matches(line.actor) or person.matches(line.subject)
    ]
    return Held(items, messages, events, outbox, members, audit)


def _names(event: Event, person: Person) -> bool:
    detail = event.detail.lower()
    return person.matches(event.actor) or any(address in detail for address in person.addresses)


def published(item: Item) -> bool:
    """Whether the item was published: then it and its approvals are public record."""
    return item.status == Status.POSTED


# --- erasing -----------------------------------------------------------------------------------


def open_erasure(session: Session, reason: str) -> Erasure:
    """Start an erasure: while its row is open in this transaction, history lines may be blanked."""
    erasure = Erasure(at=utcnow(), reason=reason, is_open=True, summary={})
    session.add(erasure)
    session.flush()
    return erasure


def close_erasure(session: Session, erasure: Erasure, report: ErasureReport) -> None:
    """Record what was erased (no names) and close the window before the transaction commits."""
    erasure.summary = report.summary()
    erasure.is_open = False
    session.flush()


def anonymise_item(session: Session, item: Item, why: str, report: ErasureReport) -> None:
    """Leave only the ref, kind, dates and outcome: raw mail, files, text, addresses and history words go."""
    if _mail_in_flight(session, [item.id]):
        report.kept.append((item.ref, "mail about it is being sent right now; it is erased on a later run"))
        return
    rows = list(session.scalars(select(Message).where(Message.item_id == item.id)))
    report.messages += _blank_messages(rows)
    report.attachments += _erase_attachments(session, [item.id])
    report.outgoing += _blank_outgoing(session, select(OutboxMessage.id).where(OutboxMessage.item_id == item.id))
    report.history_lines += _blank_history(session, item.id)
    session.execute(delete(ReplyKey).where(ReplyKey.item_id == item.id))
    item.sender = item.sender_key = item.sender_name = item.subject = item.text = item.quarantine_reason = ""
    item.flags, item.approvals, item.decided_by = [], [], ""
    add_event(session, item, EventKind.PERSONAL_DATA_ERASED, SYSTEM_ACTOR, f"personal data erased: {why}")
    report.erased_items.append(item.ref)


def erase_held(session: Session, person: Person, held: Held, why: str) -> ErasureReport:
    """Erase what `find_held` found, except public record; the caller's transaction commits it."""
    report = ErasureReport()
    for item in held.items:
        if published(item):
            report.kept.append((item.ref, PUBLIC_RECORD))
        else:
            anonymise_item(session, item, why, report)
    mentioned = {row.item_id for row in held.messages} | {event.item_id for event in held.events}
    public_items = {item.id for item in _published_among(session, mentioned)} | {
        item.id for item in held.items if published(item)
    }
    loose = [row for row in held.messages if row.item_id is None or row.item_id not in public_items]
    report.messages += _blank_messages(loose)
    for row in held.messages:
        if row.item_id in public_items:
            report.kept.append((f"a message of theirs on {row.item.ref if row.item else 'an item'}", PUBLIC_RECORD))
    public_lines = [event for event in held.events if event.item_id in public_items]
    if public_lines:
        refs = ", ".join(sorted({event.item.ref for event in public_lines}))
        report.kept.append((f"{len(public_lines)} history line(s) naming them on {refs}", PUBLIC_RECORD))
    for event in held.events:
        if event.item_id in public_items:
            continue
        session.execute(update(Event).where(Event.id == event.id).values(**_redacted(event, person)))
        report.history_lines += 1
    for mail in held.outbox:
        if mail.status == Delivery.SENDING:
            report.kept.append((f"mail {mail.message_id}", "it is being sent right now; run erase again shortly"))
            continue
        report.outgoing += _blank_outgoing(session, [mail.id], keep=lambda a: not person.matches(a))
    if held.members:
        report.kept.append(("their place on the SMAT roster", ROSTER_RECORD))
    if held.audit:
        report.kept.append((f"{len(held.audit)} roster or account register change(s) by or about them", ROSTER_RECORD))
    return report


def _published_among(session: Session, ids: Iterable[int | None]) -> list[Item]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return []
    return [item for item in session.scalars(select(Item).where(Item.id.in_(wanted))) if published(item)]


def _redacted(event: Event, person: Person) -> dict[str, object]:
    """A history line of someone else's item without this person: their own words go, a mention becomes [erased]."""
    if person.matches(event.actor):
        return {"actor": ERASED, "detail": ERASED, "data": {}}
    detail = event.detail
    for address in person.addresses:
        detail = _replace_folded(detail, address, ERASED)
    return {"detail": detail}


def _replace_folded(text: str, needle: str, by: str) -> str:
    lowered, at, out = text.lower(), 0, []
    while (found := lowered.find(needle, at)) >= 0:
        out.append(text[at:found] + by)
        at = found + len(needle)
    return "".join(out) + text[at:]


def _blank_messages(rows: Sequence[Message]) -> int:
    """Raw bytes, sender, subject and Message-ID gone; the digest and reconciliation keep their counts."""
    count = 0
    for row in rows:
        if row.raw or row.sender or row.subject:
            count += 1
        row.raw, row.sender, row.subject, row.reason, row.message_id = b"", "", "", "", None
    return count


def _erase_attachments(session: Session, item_ids: Sequence[int]) -> int:
    """The files of these items, originals and prepared copies; the one place that knows where files live.

    The originals live in the raw message (blanked by the caller); the copies our mail carried are
    kept once by content (blobs) and go too, unless another item still uses the same bytes.
    """
    shas = [
        sha for sha in session.scalars(select(Attachment.sent_sha256).where(Attachment.item_id.in_(item_ids))) if sha
    ]
    result = session.execute(delete(Attachment).where(Attachment.item_id.in_(item_ids)))
    blobs.forget_unused(session, shas)
    return int(getattr(result, "rowcount", 0) or 0)


def _blank_outgoing(session: Session, ids: object, keep: Callable[[str], bool] = lambda _a: False) -> int:
    """Mail we sent or would send: its bytes and the recipients not kept go; mail not yet sent is never sent.

    Pending mail left with no recipient is deleted outright (with any reply key it carried): it
    never went, so nothing can refer to it. Pending mail still for others keeps its bytes for them.
    """
    rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))))  # type: ignore[arg-type]
    unsent, blank = [], []
    for row in rows:
        row.recipients = [address for address in row.recipients if keep(address)]
        row.refused, row.last_error = {}, ""
        if row.status == Delivery.PENDING:
            if not row.recipients:
                unsent.append(row.id)
        else:
            blank.append(row.id)
    carried = [
        str(sha)
        for parts in session.scalars(select(OutboxBody.parts).where(OutboxBody.outbox_id.in_([*unsent, *blank])))
        for _, sha in parts or ()
    ]
    if unsent:
        session.execute(delete(ReplyKey).where(ReplyKey.outbox_id.in_(unsent)))
        session.execute(delete(OutboxBody).where(OutboxBody.outbox_id.in_(unsent)))
        session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(unsent)))
    if blank:
        session.execute(update(OutboxBody).where(OutboxBody.outbox_id.in_(blank)).values(raw=b"", parts=[], packing=""))
    blobs.forget_unused(session, carried)  # the files that mail carried, unless still used elsewhere
    return len(rows)


def _blank_history(session: Session, item_id: int) -> int:
    """Every line keeps its kind and time; its words, data and any actor but the service itself go."""
    result = session.execute(update(Event).where(Event.item_id == item_id).values(detail="", data={}))
    session.execute(update(Event).where(Event.item_id == item_id, Event.actor != SYSTEM_ACTOR).values(actor=""))
    return int(getattr(result, "rowcount", 0) or 0)


def _mail_in_flight(session: Session, item_ids: Sequence[int]) -> bool:
    """Mail about these items claimed by a sender now; mail still pending is simply not sent (`_blank_outgoing`)."""
    sending = OutboxMessage.status == Delivery.SENDING
    return bool(session.scalar(select(exists().where(OutboxMessage.item_id.in_(item_ids), sending))))


# --- retention ---------------------------------------------------------------------------------


@dataclass
class Due:
    """What retention would erase now: unpublished items untouched since the cutoff, and loose old mail."""

    items: list[Item]
    messages: list[Message]


def due_for_retention(session: Session, cutoff: datetime) -> Due:
    """Items never published whose last change is before `cutoff`, not yet erased; mail of no item before it."""
    erased = exists().where(Event.item_id == Item.id, Event.kind == EventKind.PERSONAL_DATA_ERASED)
    items = list(
        session.scalars(
            select(Item)
            .where(Item.status != Status.POSTED, Item.updated_at < cutoff, Item.received_at < cutoff, ~erased)
            .order_by(Item.id)
        )
    )
    messages = list(
        session.scalars(
            select(Message)
            .where(Message.item_id.is_(None), Message.received_at < cutoff, func.length(Message.raw) > 0)
            .order_by(Message.id)
        )
    )
    return Due(items, messages)


def apply_retention(session: Session, due: Due, why: str) -> ErasureReport:
    """Anonymise every due item and blank the loose mail; the caller's transaction commits it."""
    report = ErasureReport()
    for item in due.items:
        anonymise_item(session, item, why, report)
    report.messages += _blank_messages(due.messages)
    return report
