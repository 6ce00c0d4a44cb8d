"""The mail a new submission causes: the acknowledgement (within a stranger's share), the review
requests, and a repeat's new words relayed to the reviewers; queued in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from intake import acknowledging, responses
from intake.commands import Registry
from intake.config import Person, Settings
from intake.draft_view import draft_view
from intake.files import SIZE_RULE, limit_label, listing
from intake.mailcontext import item_context
from intake.message import InboundMessage
from intake.render import Composer, FileToAttach, Outgoing, Recipient
from intake.store import acknowledgements
from intake.store.attachments import sent_copy
from intake.store.db import Session
from intake.store.history import SYSTEM_ACTOR, add_event
from intake.store.models import Attachment, Item, utcnow
from intake.store.outbox import queue_keyed_mails
from intake.vocab import EventKind, Kind, Purpose

_HOUR = timedelta(hours=1)


class SubmissionMail:
    """Composes and queues the mail that a new draft, report or enquiry (or a repeat of one) causes."""

    def __init__(self, settings: Settings, composer: Composer, registry: Registry) -> None:
        self.settings = settings
        self.composer = composer
        self.registry = registry
        self.responses = composer.responses

    def acknowledgement(self, session: Session, item: Item, msg: InboundMessage) -> Outgoing | None:
        """The acknowledgement to queue (a held one noted in the item's history), within the sender's share if
        they are not on the roster; None if it is held. `review_requests` can write it with the review requests."""
        assert msg.sender is not None
        sender, per_hour = msg.sender.email, self.settings.intake.acknowledgements_per_hour
        person = self.settings.person(sender)
        now = utcnow()
        midnight = now.astimezone(self.settings.council.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        per_day = self.settings.intake.automatic_replies_per_day
        lately = acknowledgements.lately(session, sender, now - _HOUR, midnight)
        today = lately.acknowledged_today
        step = acknowledging.step(person is not None, lately, per_hour, per_day)
        if step != acknowledging.Step.SEND:
            told = "a note saying so was sent instead" if step == acknowledging.Step.NOTE else "told so already today"
            if today >= per_day:
                detail = f"{today} automatic replies to {sender} today, the most a day allows"
            else:
                detail = f"{lately.acknowledged_this_hour} acknowledged to {sender} in the last hour; {told}"
            add_event(session, item, EventKind.ACK_HELD, SYSTEM_ACTOR, detail, received_today=lately.received_today)
        if step == acknowledging.Step.HOLD:
            return None
        note = None
        if step == acknowledging.Step.NOTE:
            note = {"received_today": lately.received_today, "per_hour": per_hour}
        return self._acknowledgement(item, msg, person, note)

    def _acknowledgement(
        self, item: Item, msg: InboundMessage, person: Person | None, note: dict[str, int] | None
    ) -> Outgoing:
        """The acknowledgement: greeting by roster name only (a display name proves nothing), and the note if due."""
        assert msg.sender is not None
        return self.composer.compose(
            Purpose.ACKNOWLEDGEMENT,
            Recipient(msg.sender.email, person.name if person else ""),
            {
                **item_context(self.settings, item, self.registry),
                "greeting_name": person.name if person else "",
                "held_note": note,
                "size_note": self._size_note(item),
            },
            ref=item.ref,
            in_reply_to=msg.message_id,
            references=msg.references,
        )

    def _size_note(self, item: Item) -> dict[str, str] | None:
        """The limits to name in the acknowledgement when the message or a file of it was over one; else None."""
        if not any(flag.get("rule") == SIZE_RULE for flag in item.flags or []):
            return None
        limits = self.settings.limits
        return {"message": limit_label(limits.message_bytes), "file": limit_label(limits.attachment_bytes)}

    def review_requests(
        self, session: Session, item: Item, records: list[Attachment], acknowledgement: Outgoing | None = None
    ) -> int:
        """A review request to each reviewer: every file listed; pictures' prepared copies and documents attached.

        With the draft's `acknowledgement`, written in the same statements (a round trip each on PostgreSQL);
        how many mails queued."""
        reviewers = [Recipient(person.email, person.name) for person in self.settings.reviewers]
        files = listing(records)
        pictures = sum(1 for f in files if f["attached"] and not f["document"])
        context = {
            **item_context(self.settings, item, self.registry),
            "attachments": files,
            "suggestions": self._suggestions(item),
            **draft_view(item.text, item.revision, pictures),
        }
        queue_keyed_mails(
            session,
            self.composer,
            self.settings.security.secret,
            item,
            reviewers,
            Purpose.REVIEW_REQUEST,
            context,
            EventKind.REVIEW_REQUESTED,
            before=[(acknowledgement, EventKind.ACKNOWLEDGED)] if acknowledgement is not None else [],
            attachments=carried_files(session, records),
            auto_submitted="auto-generated",
        )
        return len(reviewers) + (acknowledgement is not None)

    def relay_repeat(self, session: Session, item: Item, msg: InboundMessage, records: list[Attachment]) -> int:
        """A folded repeat's new words or files go to reviewers as the drafter's words; an exact repeat, nothing."""
        if not records and " ".join(msg.text.split()) == " ".join(item.text.split()):
            return 0
        context = {
            **item_context(self.settings, item, self.registry),
            "reply_text": msg.text,
            "wrote_again": True,
            "files_kept": len(records),
            "attachments": listing(records),
        }
        queue_keyed_mails(
            session,
            self.composer,
            self.settings.security.secret,
            item,
            [Recipient(person.email, person.name) for person in self.settings.reviewers],
            Purpose.QUERY,
            context,
            EventKind.MAIL_QUEUED,
            template="drafter-reply",
            attachments=carried_files(session, records),
            auto_submitted="auto-generated",
        )
        return len(self.settings.reviewers)

    def _suggestions(self, item: Item) -> tuple[responses.Response, ...]:
        """For an enquiry, the standard responses that best match its words (§6.4), the default last."""
        if item.kind != Kind.ENQUIRY:
            return ()
        return responses.suggest(self.responses.values(), f"{item.subject}\n{item.text}")


def carried_files(session: Session, records: Sequence[Attachment]) -> list[FileToAttach]:
    """What our mail carries of the files: a picture as its re-encoded copy, a document as it came, by our name.

    The bytes are kept once (blobs) and this transaction has them already: nothing is read back.
    """
    return [
        FileToAttach(
            record.prepared_name or "attachment",
            record.prepared_type or "application/octet-stream",
            data,
            record.note,
            record.sent_sha256 or "",
        )
        for record in records
        if record.attach and record.prepared_name and (data := sent_copy(session, record)) is not None
    ]
