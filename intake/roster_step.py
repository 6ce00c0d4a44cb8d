"""The pipeline step for the roster by email: a command asks, a keyed CONFIRM makes the change.

`ADD SMAT …`/`REMOVE SMAT …` from the Town Clerk or Deputy changes nothing by itself: we
send a confirmation mail, with a reply key bound to the asker's ROSTER address, and only a
CONFIRM through that key (from that person, the key unused and unexpired, and with
`require_authenticated_replies` DMARC too, as for decisions) makes the change — the pattern
Mailman uses for subscriptions. A change the Deputy makes is marked for the Clerk's review
and the Clerk is sent a keyed mail to confirm it. Every step, made or refused, is audited.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from intake import authentication, roster_commands
from intake.config import Person, Settings
from intake.mailcontext import person_label
from intake.message import InboundMessage
from intake.render import Composer, Recipient
from intake.replies import new_text
from intake.replykeys import plus_address
from intake.roster_commands import RosterCommand
from intake.store import roster, roster_requests
from intake.store.audit import audit
from intake.store.db import Session
from intake.store.models import Message, RosterRequest, utcnow
from intake.store.outbox import outbox_row
from intake.vocab import AuditArea, Purpose, RequestState, Role, RosterAction

_TRUSTED_SOURCE = "imap"  # as for replies: only the mailbox our MTA delivers to carries genuine results


class RosterStep:
    """Turns a roster command or a CONFIRM into a recorded request, change or refusal, and its mail."""

    def __init__(self, settings: Settings, composer: Composer) -> None:
        self.composer = composer
        self.use(settings)

    def use(self, settings: Settings) -> None:
        """Work with these settings (and so this roster) from now on."""
        self.settings = settings

    def request_for(self, session: Session, msg: InboundMessage, envelope: tuple[str, ...]) -> RosterRequest | None:
        """The roster request this message answers: by the key in an address, else by our Message-ID."""
        addresses = [*envelope, *(a.email for a in (*msg.to, *msg.cc))]
        for header in ("delivered-to", "x-original-to", "envelope-to"):
            addresses += list(msg.header_all(header))
        mailbox = self.settings.mailbox
        found = roster_requests.by_key(session, self.settings.security.secret, addresses, mailbox.address)
        return found or roster_requests.by_message_id(session, [*msg.in_reply_to, *msg.references], mailbox.domain)

    # --- a new mail asking for a change ---------------------------------------------------

    def command(self, session: Session, msg: InboundMessage, row: Message, command: RosterCommand) -> tuple[int, str]:
        """Ask the asker to confirm, or say why not; (mail queued, what became of it)."""
        assert msg.sender is not None
        sender = msg.sender.email.lower()
        person = self.settings.person(sender)
        role = person.role if person is not None and person.active else Role.PUBLIC
        if not roster_commands.may_change_roster(role):
            why = "only the Town Clerk and the Deputy Town Clerk can change the SMAT roster"
        elif command.problem:
            why = command.problem
        else:
            why = self._unworkable(command)
        if why or person is None:
            return self._refuse(session, row, sender, command.label if not command.problem else "", why, person)
        request, key = roster_requests.issue(
            session,
            self.settings.security.secret,
            command.action,
            command.email,
            command.name,
            sender,
            person.email,
            row.id,
        )
        detail = f"{command.label}; a confirmation was sent to {person.email}"
        audit(session, AuditArea.ROSTER, RosterAction.REQUESTED, sender, command.email, detail, row.id)
        self._confirmation(session, request, key, person, asked_by=sender, in_reply_to=msg.message_id)
        return 1, f"roster command: {command.label}, waiting for CONFIRM from {person.email}"

    def _unworkable(self, command: RosterCommand) -> str:
        """Why the roster as it stands makes the command impossible; "" if it can be done."""
        member = self.settings.person(command.email)
        if command.action == RosterAction.ADDED:
            if member is not None and member.active:
                return f"{member.name} <{member.email}> is already on the roster"
            return ""
        if member is None or not member.active:
            return f"{command.email} is not an active member of the roster"
        if member.role in (Role.CLERK, Role.DEPUTY_CLERK):
            return "the Town Clerk and the Deputy Town Clerk are changed by the administrator with `smat-intake roster`"
        return ""

    # --- a reply to a confirmation mail ---------------------------------------------------

    def confirm(self, session: Session, msg: InboundMessage, row: Message, request: RosterRequest) -> tuple[int, str]:
        """Make the confirmed change if everything about the CONFIRM holds; else say why not."""
        assert msg.sender is not None
        sender = msg.sender.email.lower()
        person = self.settings.person(sender)
        label = _label(request)
        if why := self._confirm_refusal(msg, row, request, person):
            return self._refuse(session, row, sender, label, why, person)
        assert person is not None
        roster_requests.settle(request)
        audit(session, AuditArea.ROSTER, RosterAction.CONFIRMED, sender, request.email, label, row.id)
        if request.action == RosterAction.REVIEWED:
            roster.mark_reviewed(session, request.email, sender, row.id)
            lines = [f"Confirmed: {_done(request)}. It no longer awaits your review."]
            return self._answer(session, person, f"Confirmed: {label}", lines, msg), f"roster: {label}, confirmed"
        urgent = roster_commands.needs_review(person.role)
        how = f"asked by email by {request.requested_by}, confirmed by {sender}"
        try:
            if request.action == RosterAction.ADDED:
                roster.add_member(
                    session, self.settings, request.name, request.email, Role.SMAT, sender,
                    awaiting_review=urgent, message_id=row.id, how=how,
                )  # fmt: skip
            else:
                roster.remove_member(
                    session, self.settings, request.email, sender, awaiting_review=urgent, message_id=row.id, how=how
                )
        except roster.RosterError as exc:
            return self._refuse(session, row, sender, label, str(exc), person)
        lines = [f"Done: {_done(request)}."]
        if request.action == RosterAction.REMOVED:
            lines.append("Every reply address they were sent has stopped working.")
        queued = 0
        if urgent:
            clerks = [p for p in self.settings.people if p.active and p.role == Role.CLERK]
            for clerk in clerks:
                review, key = roster_requests.issue(
                    session, self.settings.security.secret, RosterAction.REVIEWED, request.email, request.name,
                    sender, clerk.email, row.id,
                )  # fmt: skip
                self._confirmation(session, review, key, clerk, asked_by=sender, change=_done(request))
                queued += 1
            lines.append(
                "As a change made by the Deputy Town Clerk, it is listed as awaiting the Town Clerk's review "
                "in the daily digest until the Town Clerk confirms it"
                + ("; the Town Clerk has been asked to." if clerks else ".")
            )
        return queued + self._answer(session, person, f"Done: {label}", lines, msg), f"roster: {label}, done"

    def _confirm_refusal(self, msg: InboundMessage, row: Message, request: RosterRequest, person: Person | None) -> str:
        """Why this reply does not confirm the request; "" if it does."""
        security = self.settings.security
        if person is None or not self.settings.same_person(msg.sender.email if msg.sender else "", request.confirmer):
            return "this confirmation was sent to someone else; only they can confirm it"
        if not person.active or not roster_commands.may_change_roster(person.role):
            return "only the Town Clerk and the Deputy Town Clerk can change the SMAT roster"
        if request.action == RosterAction.REVIEWED and person.role != Role.CLERK:
            return "only the Town Clerk can confirm a change the Deputy Town Clerk made"
        if request.state != RequestState.PENDING:
            return "this change has already been confirmed"
        if utcnow() - request.requested_at > timedelta(days=security.reply_key_days):
            return "this confirmation has expired; send the command again"
        if not roster_commands.is_confirm(new_text(msg)):
            return "nothing was changed: to make the change, reply with CONFIRM on the first line"
        if security.require_authenticated_replies:
            verdict = authentication.check(
                msg, security.trusted_authserv_id, trusted_route=row.source == _TRUSTED_SOURCE
            )
            if not verdict.passed:
                return f"the council's mail server did not confirm this message came from you ({verdict.reason})"
        return ""

    # --- mail -----------------------------------------------------------------------------

    def _refuse(
        self, session: Session, row: Message, sender: str, label: str, why: str, person: Person | None
    ) -> tuple[int, str]:
        """Audit the refusal; answer only people on the roster (a stranger's From proves nothing)."""
        audit(session, AuditArea.ROSTER, RosterAction.REFUSED, sender, label, why, row.id)
        reason = f"roster command refused: {why}"
        if person is None or not person.active:
            return 0, reason
        title = f"Not done: {label}" if label else "Not done: a roster command"
        return self._answer(session, person, title, [f"Nothing was changed: {why}."]), reason

    def _answer(
        self, session: Session, person: Person, title: str, lines: list[str], msg: InboundMessage | None = None
    ) -> int:
        """The answer that names the change (done, or not and why), to the person's roster address."""
        context = self._context({"title": title, "lines": lines, "usage": roster_commands.COMMANDS})
        out = self.composer.compose(
            Purpose.ROSTER,
            Recipient(person.email, person.name),
            context,
            in_reply_to=msg.message_id if msg is not None else None,
            references=msg.references if msg is not None else (),
            auto_submitted="auto-replied",
        )
        session.add(outbox_row(out, None))
        return 1

    def _confirmation(
        self,
        session: Session,
        request: RosterRequest,
        key: str,
        to: Person,
        asked_by: str,
        in_reply_to: str | None = None,
        change: str = "",
    ) -> None:
        """The keyed mail whose CONFIRM makes (or, for the Clerk's review, confirms) the change."""
        context = self._context(
            {
                "change": _label(request),
                "done": change,
                "review": request.action == RosterAction.REVIEWED,
                "asked_by": person_label(self.settings, asked_by),
                "days": self.settings.security.reply_key_days,
            }
        )
        out = self.composer.compose(
            Purpose.ROSTER_CONFIRMATION,
            Recipient(to.email, to.name),
            context,
            reply_to=plus_address(self.composer.from_address, key),
            in_reply_to=in_reply_to if to.email.lower() == asked_by.lower() else None,
            auto_submitted="auto-generated",
        )
        outbox = outbox_row(out, None)
        session.add(outbox)
        session.flush()
        request.outbox_id = outbox.id

    def _context(self, extra: dict[str, Any]) -> dict[str, Any]:
        return {"council": self.settings.council, "mailbox": self.settings.mailbox.address, **extra}


def _label(request: RosterRequest) -> str:
    """The change in words, as the command named it."""
    who = f"{request.name} <{request.email}>" if request.name else request.email
    if request.action == RosterAction.REVIEWED:
        return f"the Deputy Town Clerk's change to {who}"
    return f"add {who} to SMAT" if request.action == RosterAction.ADDED else f"remove {who} from SMAT"


def _done(request: RosterRequest) -> str:
    who = f"{request.name} <{request.email}>" if request.name else request.email
    if request.action == RosterAction.REMOVED:
        return f"{who} is no longer a SMAT member"
    if request.action == RosterAction.ADDED:
        return f"{who} is now a SMAT member and will receive review requests"
    return f"the change to {who}"
