"""The pipeline step for a reply to our mail: read the command, ask the rules, record, tell people.

The rules themselves are in `decisions.py`; this step gathers the facts they need (who
sent it, which key, is it authenticated, what state the item is in), writes the ruling
into the item's history with the raw message, and queues the mail that follows, all in
the caller's transaction.
"""

from __future__ import annotations

import dataclasses
import difflib
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import authentication, decisions
from intake.config import Settings
from intake.decisions import Actor, ItemState, Rules, Ruling
from intake.journal import add_event, queue_keyed_mail
from intake.mailcontext import ROLE_LABELS, item_context
from intake.message import InboundMessage
from intake.refs import ref_in_subject
from intake.render import Composer, FileToAttach, Recipient
from intake.replies import VERBS, Command, new_text, read_command
from intake.store.models import Attachment, Event, Item, Message, OutboxMessage, utcnow
from intake.store.queries import ReplyTarget

DECISION = "decision"


class ReplyStep:
    """Turns one reply into a recorded ruling and the mail that follows it."""

    def __init__(self, settings: Settings, composer: Composer) -> None:
        self.settings = settings
        self.composer = composer

    # --- facts ---------------------------------------------------------------------------

    def actor(self, msg: InboundMessage, item: Item, target: ReplyTarget, history: list[Event]) -> Actor:
        """Who sent this, in what role, with which key, and whether our MTA vouched for them."""
        assert msg.sender is not None
        email = msg.sender.email.strip().lower()
        person = self.settings.person(email)
        role = "public" if person is None else (person.role if person.active else "former")
        key = target.key
        expired = False
        used: frozenset[str] = frozenset()
        conflict = ""
        if key is not None:
            expired = utcnow() - key.issued_at > timedelta(days=self.settings.security.reply_key_days)
            used = frozenset(
                e.data.get("command", "")
                for e in history
                if e.kind == DECISION and e.data.get("accepted") and e.data.get("key") == key.key
            )
            subject_ref = ref_in_subject(msg.subject)
            if subject_ref and subject_ref != item.ref:
                conflict = subject_ref
        verdict = authentication.check(msg, self.settings.security.trusted_authserv_id)
        return Actor(
            email=email,
            name=msg.sender.name or (person.name if person else ""),
            role=role,
            key_holder=key.email if key is not None else None,
            key_expired=expired,
            key_used_for=used,
            key_item_conflict=conflict,
            matched_by=target.matched_by,
            authenticated=verdict.passed,
            authentication_reason=verdict.reason,
        )

    @staticmethod
    def state(item: Item, history: list[Event]) -> ItemState:
        """The item as the rules see it: approvals since the last edit, who decided its state and when."""
        approvals: list[str] = []
        decided_by, decided_at = "", None
        before_query = "in_review"
        for event in history:
            if event.kind != DECISION or not event.data.get("accepted"):
                continue
            command = event.data.get("command")
            if command == "EDIT":
                approvals = []
            elif command == "APPROVE":
                approvals.append(event.actor)
            elif command == "QUERY" and event.data.get("from_status") in decisions.OPEN_DRAFT - {"queried"}:
                before_query = event.data["from_status"]
            if event.data.get("new_status") == item.status:
                decided_by, decided_at = event.actor, event.at
        return ItemState(
            ref=item.ref,
            kind=item.kind,
            status=item.status,
            sender=item.sender,
            approvals=tuple(dict.fromkeys(approvals)),
            high_flags=any(flag.get("severity") == "high" for flag in (item.flags or [])),
            decided_by=decided_by,
            decided_at=decided_at,
            status_before_query=before_query,
        )

    # --- the step ------------------------------------------------------------------------

    def handle(self, session: Session, item: Item, msg: InboundMessage, row: Message, target: ReplyTarget) -> int:
        """Record the reply's command (accepted or refused) and queue what follows; returns mail queued."""
        if msg.sender is None:
            add_event(session, item, "reply_received", "", "a reply without a From address; nothing done", row)
            return 0
        history = list(session.scalars(select(Event).where(Event.item_id == item.id).order_by(Event.id)))
        text = new_text(msg)
        command = read_command(text)
        actor = self.actor(msg, item, target, history)
        before = self.state(item, history)
        if before.decided_at is not None:  # "already decided … at T" in the council's time, not UTC
            before = dataclasses.replace(before, decided_at=before.decided_at.astimezone(self.settings.council.tz))
        ruling = decisions.decide(
            command,
            actor,
            before,
            Rules(self.settings.review.approvals_required, self.settings.security.require_authenticated_replies),
        )
        old_text = item.text
        # Told why once: the same refusal again within a day gets no second help mail, so an
        # auto-responder that does not mark itself cannot keep a loop of help mail going.
        told_before = not ruling.accepted and any(
            e.kind == DECISION
            and e.actor == actor.email
            and not e.data.get("accepted")
            and e.data.get("reason") == ruling.reason
            and utcnow() - e.at < timedelta(hours=24)
            for e in history
        )
        self._record(session, item, row, actor, command, ruling, target, text)
        if ruling.accepted:
            self._apply(item, ruling)
        return self._notify(session, item, msg, actor, command, ruling, old_text, text, told_before)

    def _record(
        self,
        session: Session,
        item: Item,
        row: Message,
        actor: Actor,
        command: Command | None,
        ruling: Ruling,
        target: ReplyTarget,
        text: str,
    ) -> None:
        if ruling.verb in ("ANSWER", "NOTE"):
            add_event(session, item, "drafter_reply", actor.email, _excerpt(text), row, matched_by=target.matched_by)
            return
        verb = command.verb if command else ""
        detail = f"{verb or 'unrecognised reply'} {'accepted' if ruling.accepted else 'refused: ' + ruling.reason}"
        if ruling.accepted and command and command.argument:  # `show` displays where it was posted, the reject reason…
            detail += f": {_excerpt(command.argument, 300)}"
        add_event(
            session,
            item,
            DECISION,
            actor.email,
            detail,
            row,
            command=verb,
            argument=command.argument if command else _excerpt(text, 200),
            accepted=ruling.accepted,
            reason=ruling.reason if not ruling.accepted else (command.argument if command else ""),
            new_status=ruling.new_status if ruling.accepted else None,
            from_status=item.status,
            key=target.key.key if target.key is not None else None,
            matched_by=target.matched_by,
            authenticated=actor.authenticated,
        )

    @staticmethod
    def _apply(item: Item, ruling: Ruling) -> None:
        if ruling.new_status:
            item.status = ruling.new_status
        if ruling.new_text is not None:
            item.text = ruling.new_text
        item.updated_at = utcnow()

    # --- mail that follows ---------------------------------------------------------------

    def _notify(
        self,
        session: Session,
        item: Item,
        msg: InboundMessage,
        actor: Actor,
        command: Command | None,
        ruling: Ruling,
        old_text: str,
        new_text_of_reply: str,
        told_before: bool = False,
    ) -> int:
        context = {
            **item_context(self.settings, item),
            "actor": actor,
            "actor_label": self._label(actor.email),
            "verb": ruling.verb,
            "argument": command.argument if command else "",
            "note": (command.argument or command.body) if command else "",
            "ruling": ruling,
            "commands": VERBS,
            "diff": _diff(old_text, item.text) if ruling.new_text is not None else "",
            "reply_text": new_text_of_reply,
        }
        queued = 0
        effects = ruling.effects
        # Help goes only to people we know (the roster, the drafter): a stranger's forged From
        # must not turn us into a source of unwanted mail to whoever they named.
        known = self.settings.person(actor.email) is not None or actor.email == item.sender.lower()
        if (
            decisions.HELP in effects
            and known
            and not told_before
            and actor.email != self.settings.mailbox.address.lower()
            and actor.email.isascii()
        ):
            # Keyed like the rest, so that answering the help mail with the corrected command works.
            self._keyed(
                session,
                item,
                Recipient(actor.email, actor.name),
                "help",
                context,
                "help_sent",
                in_reply_to=msg.message_id,
                references=msg.references,
                auto_submitted="auto-replied",
            )
            queued += 1
        drafter_reachable = bool(item.sender) and item.sender.isascii()  # see pipeline: no SMTPUTF8 assumed
        if decisions.TELL_DRAFTER in effects and drafter_reachable and item.sender.lower() != actor.email:
            queued += self._to_drafter(session, item, "decision", "decision-to-drafter", context)
        if decisions.ASK_DRAFTER in effects and drafter_reachable:
            queued += self._to_drafter(session, item, "query", "query", context)
        if decisions.TELL_SMAT in effects:
            queued += self._to_reviewers(session, item, "decision", "decision-to-smat", context, skip=actor.email)
        if decisions.READY_TO_POST in effects:
            queued += self._to_reviewers(session, item, "ready-to-post", "ready-to-post", context, pictures=True)
        if decisions.FORWARD_TO_SMAT in effects:
            queued += self._to_reviewers(session, item, "drafter-reply", "drafter-reply", context, skip=actor.email)
        return queued

    def _label(self, email: str) -> str:
        person = self.settings.person(email)
        if person is None:
            return email
        role = ROLE_LABELS.get(person.role, person.role)
        return person.name if person.name.lower() == role.lower() else f"{person.name} ({role})"

    def _thread(self, session: Session, item: Item, recipient: str) -> str | None:
        """The Message-ID of the newest mail we sent this person about this item, to thread under."""
        rows = session.execute(
            select(OutboxMessage.message_id, OutboxMessage.recipients)  # not the raw bytes: they carry the photos
            .where(OutboxMessage.item_id == item.id)
            .order_by(OutboxMessage.id.desc())
        )
        for message_id, recipients in rows:
            if recipient.lower() in (r.lower() for r in recipients):
                return message_id
        return None

    def _original_message_id(self, session: Session, item: Item) -> str | None:
        first = session.scalars(
            select(Message.message_id).where(Message.item_id == item.id).order_by(Message.id).limit(1)
        ).first()
        return first

    def _keyed(
        self,
        session: Session,
        item: Item,
        to: Recipient,
        purpose: str,
        context: dict[str, Any],
        event_kind: str,
        **options: Any,
    ) -> None:
        queue_keyed_mail(
            session, self.composer, self.settings.security.secret, item, to, purpose, context, event_kind, **options
        )

    def _to_drafter(self, session: Session, item: Item, purpose: str, template: str, context: dict[str, Any]) -> int:
        in_reply_to = self._thread(session, item, item.sender) or self._original_message_id(session, item)
        self._keyed(
            session,
            item,
            Recipient(item.sender, item.sender_name),
            purpose,
            context,
            f"{purpose}_sent",
            in_reply_to=in_reply_to,
            auto_submitted="auto-generated",
            template=template,
        )
        return 1

    def _to_reviewers(
        self,
        session: Session,
        item: Item,
        purpose: str,
        template: str,
        context: dict[str, Any],
        skip: str = "",
        pictures: bool = False,
    ) -> int:
        files: list[FileToAttach] = []
        if pictures:
            files = [
                FileToAttach(a.filename, a.content_type, a.data)
                for a in session.scalars(
                    select(Attachment).where(Attachment.item_id == item.id).order_by(Attachment.id)
                )
                if a.content_type.startswith("image/")
            ]
        count = 0
        for person in self.settings.reviewers:
            if person.email.lower() == skip.lower():
                continue
            self._keyed(
                session,
                item,
                Recipient(person.email, person.name),
                purpose,
                context,
                f"{purpose}_sent",
                in_reply_to=self._thread(session, item, person.email),
                attachments=files,
                auto_submitted="auto-generated",
                template=template,
            )
            count += 1
        return count


def _excerpt(text: str, limit: int = 500) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _diff(old: str, new: str) -> str:
    """What an EDIT changed, as a unified diff the drafter can read."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), "as sent", "as edited", lineterm="", n=1)
    return "\n".join(lines)
