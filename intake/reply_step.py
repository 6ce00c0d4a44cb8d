"""The pipeline step for a reply to our mail: load the facts, decide, record, queue.

The rules are in `decisions.py` and the commands' own modules (`intake/commands/`): they
return every consequence as data. This step only gathers the facts they need (who sent
it, with which key and for which revision of the text, is it authenticated, does it repeat
a header, the item's decision state), writes the history line and the change (through
`store.reply_facts`), and queues each notice, all in the caller's transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from intake import authentication, decisions, responses, screening
from intake.commands import Registry, default_registry
from intake.config import Settings
from intake.decisions import ANSWER, NOTE, Actor, Decision, ItemState, Rules
from intake.draft_view import draft_view
from intake.files import listing
from intake.handover import handover
from intake.mailcontext import commands_for, item_context, person_label, person_role
from intake.message import InboundMessage
from intake.notices import Addressee, Desk, Effect, Notice, Thread
from intake.post_text import split
from intake.refs import ref_in_subject
from intake.render import Composer, FileToAttach, Recipient
from intake.replies import Command, new_text, read_command
from intake.store import reply_facts
from intake.store.accounts import registered as registered_accounts
from intake.store.attachments import store_attachments
from intake.store.db import Session
from intake.store.history import add_event
from intake.store.models import Attachment, Item, Message, utcnow
from intake.store.outbox import queue_keyed_mail
from intake.store.reply_targets import ReplyTarget
from intake.submission_mail import carried_files
from intake.vocab import EventKind, Kind, MatchedBy, Purpose, Status
from intake.wording import likely_command

if TYPE_CHECKING:
    from intake.files import ExaminedFile

_TOLD_ONCE_PER = timedelta(hours=24)  # a refusal for the same reason is explained once a day
_TRUSTED_SOURCE = "imap"  # the mailbox our MTA delivers to; the listener and `ingest` are open to anyone


class ReplyStep:
    """Turns one reply into a recorded ruling and the mail that follows it."""

    def __init__(self, settings: Settings, composer: Composer, registry: Registry | None = None) -> None:
        self.composer = composer
        self.registry = registry if registry is not None else default_registry()
        self.responses = composer.responses
        self.use(settings)

    def use(self, settings: Settings) -> None:
        """Work with these settings from now on: the pipeline hands over the database's roster as it changes."""
        self.settings = settings
        self.rules = Rules(
            settings.review.approvals_required,
            settings.security.require_authenticated_replies,
            people=tuple(Addressee(p.email, p.name, p.role) for p in settings.people if p.active),
            responses={key: response.title for key, response in self.responses.items()},
        )
        self.desk = Desk(
            settings.mailbox.address,
            tuple(Addressee(p.email, p.name, p.role) for p in settings.reviewers),
        )

    def handle(
        self,
        session: Session,
        item: Item,
        msg: InboundMessage,
        row: Message,
        target: ReplyTarget,
        files: Sequence[ExaminedFile] = (),
    ) -> int:
        """Record the reply's command (accepted or refused) and queue what follows; returns mail queued.

        `files` are the reply's files as the pipeline examined them: a drafter's answer keeps
        them on the item (the photo sent with "here is the consent form") and relays them.
        """
        if msg.sender is None:
            add_event(session, item, EventKind.REPLY_RECEIVED, "", "a reply without a From address; nothing done", row)
            return 0
        text = new_text(msg)
        command = read_command(text, self.registry)
        actor = self.actor(session, msg, item, target, row)
        rules = dataclasses.replace(self.rules, accounts=registered_accounts(session))  # what POSTED may name
        decision = decisions.decide(
            command, actor, self.state(item), rules, registry=self.registry, desk=self.desk, text=text
        )
        old_text = item.text
        line = decision.history
        at = add_event(session, item, line.kind, actor.email, line.detail, row, **line.data)
        reply_facts.save_change(session, item, target.key, decision.change, at=at)
        if decision.change.kind == Kind.DRAFT:
            self._screen(session, item)
        kept: list[Attachment] = []
        if decision.ruling.accepted and decision.ruling.verb in (ANSWER, NOTE) and msg.attachments:
            kept = store_attachments(session, item, row, msg.attachments, files)  # only words tied to our mail
        return self._queue(session, item, msg, actor, command, decision, old_text, text, kept)

    def _screen(self, session: Session, item: Item) -> None:
        """An item made a draft is screened as a new draft is, before its review requests are written."""
        day = item.received_at.astimezone(self.settings.council.tz).date()
        draft = screening.Draft(item.subject, item.text, len(reply_facts.pictures(session, item)), day)
        found = [flag.as_dict() for flag in screening.screen(draft, self.settings)]
        item.flags = [*(item.flags or []), *(f for f in found if f not in (item.flags or []))]

    # --- facts ---------------------------------------------------------------------------

    def actor(self, session: Session, msg: InboundMessage, item: Item, target: ReplyTarget, row: Message) -> Actor:
        """Who sent this, in what role, with which key, and whether our MTA vouched for them."""
        assert msg.sender is not None
        email = msg.sender.email.strip().lower()
        person = self.settings.person(email)
        key = target.key
        expired = False
        conflict = ""
        holder = key.email if key is not None else None
        if key is not None:
            expired = utcnow() - key.issued_at > timedelta(days=self.settings.security.reply_key_days)
            # A key sent before the member last (re)joined the roster was void when they left.
            expired = expired or (person is not None and person.since is not None and key.issued_at < person.since)
            subject_ref = ref_in_subject(msg.subject)
            if subject_ref and subject_ref != item.ref:
                conflict = subject_ref
        elif target.matched_by == MatchedBy.MESSAGE_ID:  # our keyless mail (the acknowledgement): its recipient
            holder = reply_facts.holder_by_message_id(session, item, [*msg.in_reply_to, *msg.references])
        # Only mail through the trusted server can carry its genuine Authentication-Results.
        verdict = authentication.check(
            msg, self.settings.security.trusted_authserv_id, trusted_route=row.source == _TRUSTED_SOURCE
        )
        return Actor(
            email=email,
            name=msg.sender.name or (person.name if person else ""),
            role=person_role(self.settings, email),
            on_roster=person is not None,
            key=key.digest if key is not None else None,
            key_holder=holder,
            key_expired=expired,
            key_used_for=reply_facts.key_uses(session, key),
            key_item_conflict=conflict,
            key_revision=key.revision if key is not None else None,
            matched_by=target.matched_by,
            authenticated=verdict.passed,
            authentication_reason=verdict.reason,
            refused_lately=reply_facts.recent_refusals(session, item, email, utcnow() - _TOLD_ONCE_PER),
            person=self.settings.canonical(email),
            repeated_headers=msg.repeated_headers,
        )

    def state(self, item: Item) -> ItemState:
        """The item's decision state, with "decided at" in the council's time ("already approved … at T")."""
        state = dataclasses.replace(reply_facts.load_state(item), sender_person=self.settings.canonical(item.sender))
        if state.decided_at is None:
            return state
        return dataclasses.replace(state, decided_at=state.decided_at.astimezone(self.settings.council.tz))

    # --- mail that follows ---------------------------------------------------------------

    def _queue(
        self,
        session: Session,
        item: Item,
        msg: InboundMessage,
        actor: Actor,
        command: Command | None,
        decision: Decision,
        old_text: str,
        reply_text: str,
        kept: Sequence[Attachment] = (),
    ) -> int:
        """Compose and queue each notice the decision names, keyed so that its answer comes back to us."""
        ruling = decision.ruling
        verb = self.registry.get(ruling.verb)
        note = (command.argument or command.body) if command else ""
        context = {
            **item_context(self.settings, item, self.registry),
            "actor": actor,
            "actor_label": person_label(self.settings, actor.email),
            "verb": ruling.verb,
            "verb_past": verb.past if verb is not None else ruling.verb.lower(),
            "argument": command.argument if command else "",
            "note": note,
            "ruling": ruling,
            # An EDIT is shown to the drafter as their version and ours, never as a diff.
            "your_version": split(old_text, edited=item.revision > 2).post if ruling.new_text is not None else "",
            "reply_text": reply_text,
            "facts": ruling.facts,  # what the command settled: the assignee, the response, the new kind
            "response": self.responses.get(str(ruling.facts.get("response", ""))),
            "suggestions": responses.suggest(self.responses.values(), f"{item.subject}\n{item.text}")
            if item.kind == Kind.ENQUIRY and item.status == Status.OPEN
            else (),
            "attachments": listing(kept),  # files that came with the drafter's words (relayed to SMAT)
            # An unrecognised reply: the command it probably meant, among those its sender may use.
            "suggested": likely_command(
                reply_text, [v.name for v in commands_for(self.settings, item, self.registry)(actor.email)]
            ),
            "files_kept": len(kept),
        }
        if any(notice.purpose == Purpose.REVIEW_REQUEST for notice in decision.notices):
            files_listed = reply_facts.file_listing(session, item)  # the request again, for the new text
            pictures = sum(1 for f in files_listed if f["attached"] and not f["document"])
            context |= {
                "attachments": files_listed,
                "pictures": pictures,
                "edited_by": context["actor_label"] if ruling.new_text is not None else "",
                "kind_changed_by": context["actor_label"] if ruling.new_kind is not None else "",
                **draft_view(item.text, item.revision, pictures),
            }
        files: list[FileToAttach] | None = None
        for notice in decision.notices:
            if notice.pictures and files is None:
                files = [
                    FileToAttach(p.filename, p.content_type, p.data, p.note, p.sha256)
                    for p in reply_facts.pictures(session, item)
                ]
            if notice.template == Effect.READY_TO_POST.template and "handover" not in context:
                context |= self._handover(item, actor, note, len(files or []))
            row = queue_keyed_mail(
                session,
                self.composer,
                self.settings.security.secret,
                item,
                Recipient(notice.to.email, notice.to.name),
                notice.purpose,
                context,
                EventKind.MAIL_QUEUED,
                template=notice.template,
                attachments=self._attachments(session, item, notice, files, kept),
                **self._threading(session, item, msg, notice),
            )
            reply_facts.bind_key_to_revision(session, row, item.revision)  # what an approval by it approves
        return len(decision.notices)

    def _handover(self, item: Item, actor: Actor, note: str, pictures: int) -> dict[str, Any]:
        """The ready-to-post values: the post itself, accounts, the approver's note and who is to post it."""
        approver = Addressee(actor.email, actor.name, actor.role)
        told = handover(item.text, item.revision > 1, note, approver, self.desk.reviewers)
        return {
            "handover": told,
            "poster_label": person_label(self.settings, told.poster.email),
            **draft_view(item.text, item.revision, pictures, for_poster=True),
        }

    def _attachments(
        self,
        session: Session,
        item: Item,
        notice: Notice,
        pictures: list[FileToAttach] | None,
        kept: Sequence[Attachment],
    ) -> list[FileToAttach]:
        """What one notice carries: the item's pictures (and a review request's documents), or the files the
        drafter's words came with, as the review request would carry them."""
        if notice.pictures:
            return [*(pictures or []), *self._documents(session, item, notice)]
        if notice.template == Effect.FORWARD_TO_SMAT.template:
            return carried_files(session, kept)  # as the review request would carry them
        return []

    @staticmethod
    def _documents(session: Session, item: Item, notice: Notice) -> list[FileToAttach]:
        """A review request sent again carries the documents the first one did; ready-to-post, pictures only."""
        if notice.purpose != Purpose.REVIEW_REQUEST:
            return []
        return [
            FileToAttach(d.filename, d.content_type, d.data, d.note, d.sha256)
            for d in reply_facts.documents(session, item)
        ]

    @staticmethod
    def _threading(session: Session, item: Item, msg: InboundMessage, notice: Notice) -> dict[str, Any]:
        """In-Reply-To, References and Auto-Submitted for one notice."""
        if notice.thread == Thread.REPLY:
            return {"in_reply_to": msg.message_id, "references": msg.references, "auto_submitted": "auto-replied"}
        in_reply_to = reply_facts.thread_for(session, item, notice.to.email)
        if in_reply_to is None and notice.thread == Thread.LAST_OR_FIRST:
            in_reply_to = reply_facts.first_message_id(session, item)
        return {"in_reply_to": in_reply_to, "auto_submitted": "auto-generated"}
