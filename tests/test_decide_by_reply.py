"""SMAT decides by replying (issue 3), driven through `Service.ingest` as mail would arrive.

Each test takes in a draft, which queues the review requests, then sends replies as a
member's mail client would (to the request's Reply-To plus-address, or threaded under its
Message-ID, or with only the subject tag) and checks the item, its history and the mail
that follows.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, compat32, default
from email.utils import make_msgid
from pathlib import Path

import pytest
from samples import draft
from sqlalchemy import select, update
from support import OUR_ADDRESS, REVIEWERS, ROSTER, TEMPLATES, migrated, settings_data, settings_for, to_toml

from intake import cli
from intake.commands import default_registry
from intake.commands.base import Verb
from intake.decisions import Actor, ItemState, Rules, Ruling
from intake.replies import Command
from intake.reply_step import ReplyStep
from intake.replykeys import key_digest, key_from_address
from intake.service import Service
from intake.store import queries, roster
from intake.store.models import Event, Item, OutboxMessage, ReplyKey, utcnow
from intake.store.unit import transaction
from intake.views import item_text
from intake.vocab import OPEN_DRAFT, REVIEWER_ROLES

CLERK, DEPUTY, SAM = REVIEWERS
GONE, CLLR, PAT = "gone@example.org", "cllr.jones@example.org", "pat@example.org"
JANE = "jane@example.com"
MALLORY = "mallory@example.net"
NAMES = {p["email"]: p["name"] for p in ROSTER} | {JANE: "Jane Resident", MALLORY: "Mallory"}
DRAFT_TEXT = "Volunteers cleared the riverside path this morning. Thank you all!"

REPLIES = Path(__file__).parent / "replies"
EXPECTED: dict[str, dict] = json.loads((REPLIES / "expected.json").read_text(encoding="utf-8"))
FIXTURES = sorted(REPLIES.glob("*.eml"))

TRUSTED = "mx.example.org"
GENUINE_AR = f"Authentication-Results: {TRUSTED}; dmarc=pass header.from=example.org"
AUTH = {"security": {"require_authenticated_replies": True, "trusted_authserv_id": TRUSTED}}


# --------------------------------------------------------------------------- the desk


@dataclasses.dataclass
class Desk:
    """A service on a fresh database, with helpers to submit drafts and reply as members."""

    service: Service

    # --- mail in ---

    def submit(self, sender: str = JANE, **kw) -> str:
        outcome = self.service.ingest(draft(sender=sender, name=NAMES.get(sender, "Someone"), **kw), "file")
        assert outcome.classification == "draft"
        return outcome.ref

    def reply(
        self,
        sender: str,
        body: str,
        *,
        ref: str,
        to: str | None = None,
        via: str = "key",
        answering: EmailMessage | None = None,
        subject: str | None = None,
        top_headers: tuple[str, ...] = (),
        source: str = "smtp",
        **headers: str,
    ):
        """A reply from `sender` whose new text is `body`.

        via="key": to the Reply-To plus-address of the mail answered (default: `to`'s review
        request); via="message-id": threaded under it by In-Reply-To only; via="subject": only
        the subject tag. `top_headers` are put above everything, as the receiving MTA does;
        source="imap" is mail our MTA delivered (the only route whose Authentication-Results count).
        """
        answering = (
            answering if answering is not None else (self.request(to or sender, ref) if via != "subject" else None)
        )
        msg = EmailMessage()
        msg["From"] = f"{NAMES.get(sender, 'Someone')} <{sender}>"
        envelope: list[str] = []
        if via == "key":
            assert answering is not None and answering["Reply-To"], "that mail has no Reply-To"
            msg["To"] = str(answering["Reply-To"])
            envelope = [str(answering["Reply-To"])]
        else:
            msg["To"] = OUR_ADDRESS
        if via == "message-id":
            assert answering is not None
            msg["In-Reply-To"] = answering["Message-ID"]
            msg["References"] = answering["Message-ID"]
        msg["Subject"] = (
            subject if subject is not None else f"Re: [{ref}] Review draft from Jane Resident: Litter pick on Saturday"
        )
        msg["Date"] = "Sat, 28 Nov 2026 11:00:00 +0000"
        msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
        for key, value in headers.items():
            msg[key.replace("_", "-")] = value
        msg.set_content(body)
        raw = msg.as_bytes(policy=SMTP)
        raw = b"".join(h.encode() + b"\r\n" for h in top_headers) + raw
        return self.service.ingest(raw, source, envelope_recipients=envelope)

    # --- what is stored ---

    def item(self, ref: str) -> dict:
        with self.service.sessions() as session:
            item = session.scalars(select(Item).where(Item.ref == ref)).one()
            return {"status": item.status, "text": item.text}

    def status(self, ref: str) -> str:
        return self.item(ref)["status"]

    def decisions(self, ref: str) -> list[dict]:
        with self.service.sessions() as session:
            item_id = session.scalars(select(Item.id).where(Item.ref == ref)).one()
            events = session.scalars(
                select(Event).where(Event.item_id == item_id, Event.kind == "decision").order_by(Event.id)
            )
            return [{"actor": e.actor, "detail": e.detail, "message_id": e.message_id, **e.data} for e in events]

    def events(self, ref: str, kind: str) -> list[Event]:
        with self.service.sessions() as session:
            item_id = session.scalars(select(Item.id).where(Item.ref == ref)).one()
            return list(
                session.scalars(select(Event).where(Event.item_id == item_id, Event.kind == kind).order_by(Event.id))
            )

    def outbox(self, purpose: str | None = None, to: str | None = None) -> list[EmailMessage]:
        with self.service.sessions() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            if purpose:
                query = query.where(OutboxMessage.purpose == purpose)
            rows = [(r.recipients, r.raw) for r in session.scalars(query)]
        return [message_from_bytes(raw, policy=default) for recipients, raw in rows if to is None or to in recipients]

    def outbox_count(self) -> int:
        return len(self.outbox())

    def request(self, member: str, ref: str, latest: bool = False) -> EmailMessage:
        """The review request `member` was sent for `ref` (the newest, after an EDIT, if `latest`)."""
        found = [m for m in self.outbox("review-request", member) if f"[{ref}]" in m["Subject"]]
        assert len(found) == 1 or (latest and found), (member, ref)
        return found[-1]

    def relayed(self) -> list[EmailMessage]:
        """The drafter's words relayed to SMAT (sorted under "query", interface.md's purposes)."""
        return [m for m in self.outbox("query") if m["To"].addresses[0].addr_spec in REVIEWERS]

    def last(self, purpose: str, to: str) -> EmailMessage:
        mails = self.outbox(purpose, to)
        assert mails, f"no {purpose} mail to {to}"
        return mails[-1]


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()


def new_service(settings) -> Service:
    """A service on its database, migrated by a copy of the template when empty."""
    migrated(settings.database_url)
    return Service.build(settings, template_cache=TEMPLATES)


@pytest.fixture
def make_desk(tmp_path, sqlite_url):
    """A factory: make_desk(overrides) -> Desk on a fresh SQLite database."""
    services: list[Service] = []

    def make(overrides: dict | None = None, url: str = sqlite_url, settings=None) -> Desk:
        service = new_service(settings or settings_for(tmp_path, url, overrides=overrides))
        services.append(service)
        return Desk(service)

    yield make
    for service in services:
        service.close()


@pytest.fixture
def desk(make_desk) -> Desk:
    return make_desk()


@pytest.fixture
def any_desk(tmp_path, database_url):
    """A desk on SQLite and on PostgreSQL (for the rules that depend on reading history back)."""
    made: list[Service] = []

    def make(overrides: dict | None = None) -> Desk:
        service = new_service(settings_for(tmp_path, database_url, overrides=overrides))
        made.append(service)
        return Desk(service)

    yield make
    for service in made:
        service.close()


def refused(desk: Desk, ref: str, by: str, command: str, reason_part: str) -> dict:
    """The newest decision on `ref`: a refusal of `command` from `by` whose reason says `reason_part`."""
    decision = desk.decisions(ref)[-1]
    assert (decision["actor"], decision["command"], decision["accepted"]) == (by, command, False), decision
    assert reason_part in decision["reason"], decision["reason"]
    assert decision["message_id"] is not None  # the raw message is kept with the history line
    return decision


# --------------------------------------------------------------------------- 1. every client's reply, end to end


def readdressed(path: Path, sender: str, reply_to: str, ref: str) -> bytes:
    """A client fixture as a real reply: From the member, To the request's Reply-To, the item's tag.

    Only headers change; the body bytes and MIME structure are kept as the client made them.
    """
    msg = message_from_bytes(path.read_bytes(), policy=compat32)
    for name in ("From", "To", "Cc", "In-Reply-To", "References", "Delivered-To"):
        del msg[name]
    subject = re.sub(r"\[SMAT-\d{4}-\d{4}\]", f"[{ref}]", str(msg["Subject"]))
    del msg["Subject"]
    msg["From"] = f"Town Clerk <{sender}>"
    msg["To"] = reply_to
    msg["Subject"] = subject
    return msg.as_bytes()


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_every_client_reply_from_the_clerk_decides_the_item_as_its_command_says(make_desk, path):
    desk = make_desk()
    ref = desk.submit()
    want = EXPECTED[path.stem]
    verb = want["verb"]
    if verb == "POSTED":  # a post can only be recorded once the draft is approved
        desk.reply(DEPUTY, "APPROVE", ref=ref)
        assert desk.status(ref) == "approved"
    reply_to = str(desk.request(CLERK, ref)["Reply-To"])
    raw = readdressed(path, CLERK, reply_to, ref)
    assert raw.split(b"\n\n", 1)[1] == path.read_bytes().replace(b"\r\n", b"\n").split(b"\n\n", 1)[1]  # body untouched

    outcome = desk.service.ingest(raw, "smtp", envelope_recipients=[reply_to])

    assert (outcome.classification, outcome.ref) == ("reply", ref)
    decision = desk.decisions(ref)[-1]
    assert (decision["actor"], decision["command"], decision["matched_by"]) == (CLERK, verb or "", "key")
    item = desk.item(ref)
    note = want["argument"] or want["body"]
    if verb == "APPROVE":
        assert item == {"status": "approved", "text": DRAFT_TEXT}
        assert "has been approved" in text_of(desk.last("decision", JANE))
        assert {m["To"].addresses[0].addr_spec for m in desk.outbox("ready-to-post")} == set(REVIEWERS)
    elif verb == "REJECT":
        assert item["status"] == "rejected"
        assert f"The reason given: {want['argument']}" in text_of(desk.last("decision", JANE))
    elif verb == "EDIT":
        new = "\n".join(part for part in (want["argument"], want["body"]) if part)
        assert item == {"status": "in_review", "text": new}
        assert "Our edited version:" in text_of(desk.last("decision", JANE))
    elif verb == "QUERY":
        assert item["status"] == "queried"
        assert want["argument"] in text_of(desk.last("query", JANE))
    elif verb == "ESCALATE":
        assert item["status"] == "escalated"
    elif verb == "POSTED":
        assert item["status"] == "posted"
        assert decision["argument"] == want["argument"]
    elif verb == "WITHDRAW":  # only the drafter may withdraw: the clerk's reply is read, then refused
        assert item == {"status": "in_review", "text": DRAFT_TEXT}
        refused(desk, ref, CLERK, "WITHDRAW", "only the person who sent the draft")
        assert len(desk.outbox("help", CLERK)) == 1
    elif verb == "HELP":
        assert item == {"status": "in_review", "text": DRAFT_TEXT}
        assert decision["accepted"] is True
        assert "APPROVE [note]" in text_of(desk.last("help", CLERK))
    else:
        assert verb is None and not note
        assert item == {"status": "in_review", "text": DRAFT_TEXT}
        assert decision["accepted"] is False
        assert len(desk.outbox("help", CLERK)) == 1
        assert not desk.outbox("decision") and not desk.outbox("ready-to-post")


# --------------------------------------------------------------------------- 2. impostors


def assert_unchanged(desk: Desk, ref: str) -> None:
    assert desk.item(ref) == {"status": "in_review", "text": DRAFT_TEXT}
    assert not desk.outbox("decision") and not desk.outbox("ready-to-post")


def test_spoofed_clerk_with_only_the_subject_tag_and_no_authentication_is_refused(desk):
    ref = desk.submit()
    outcome = desk.reply(CLERK, "APPROVE", ref=ref, via="subject")
    assert outcome.classification == "reply"
    refused(desk, ref, CLERK, "APPROVE", "reply to your review request to decide")
    assert desk.decisions(ref)[-1]["matched_by"] == "subject"
    assert_unchanged(desk, ref)


@pytest.mark.parametrize(
    "forwarded_to, reason",
    [
        (MALLORY, "only the Town Clerk, the Deputy Town Clerk and SMAT members"),
        (DEPUTY, "this review request was sent to another SMAT member"),
    ],
    ids=["to-a-member-of-the-public", "to-another-smat-member"],
)
@pytest.mark.parametrize("via", ["key", "message-id"])
def test_a_forwarded_review_request_is_useless_to_whoever_it_was_forwarded_to(desk, forwarded_to, reason, via):
    ref = desk.submit()
    sams = desk.request(SAM, ref)
    outcome = desk.reply(forwarded_to, "APPROVE", ref=ref, via=via, answering=sams)
    assert outcome.ref == ref
    refused(desk, ref, forwarded_to, "APPROVE", reason)
    assert_unchanged(desk, ref)


@pytest.mark.parametrize(
    "top_headers, own_headers, accepted, reason",
    [
        ((GENUINE_AR,), {}, True, ""),
        ((f"Authentication-Results: {TRUSTED}; dkim=pass header.d=example.org header.i=@example.org",), {}, True, ""),
        (
            ("Authentication-Results: relay.example.net; dmarc=pass header.from=example.org",),
            {"Authentication_Results": f"{TRUSTED}; dmarc=pass header.from=example.org"},
            False,
            f"the topmost Authentication-Results header is from relay.example.net, not {TRUSTED}",
        ),
        ((), {"X_Note": "nothing"}, False, "carries no Authentication-Results"),
        (
            (f"Authentication-Results: {TRUSTED}; dmarc=fail header.from=example.org",),
            {},
            False,
            "reports no DMARC pass",
        ),
        ((f"Authentication-Results: {TRUSTED}; dkim=pass header.d=evil.example",), {}, False, "reports no DMARC pass"),
        (
            (f"Authentication-Results: {TRUSTED}; dmarc=pass header.from=evil.example",),
            {},
            False,
            "reports no DMARC pass",
        ),
    ],
    ids=[
        "genuine-dmarc-pass",
        "aligned-dkim-pass",
        "forged-below-another-server",
        "no-header",
        "dmarc-fail",
        "dkim-unaligned",
        "dmarc-for-another-domain",
    ],
)
def test_required_authentication_is_taken_only_from_the_trusted_topmost_header(
    make_desk, top_headers, own_headers, accepted, reason
):
    desk = make_desk(AUTH)
    ref = desk.submit()
    desk.reply(CLERK, "APPROVE", ref=ref, top_headers=top_headers, source="imap", **own_headers)
    decision = desk.decisions(ref)[-1]
    assert decision["accepted"] is accepted, decision
    if accepted:
        assert decision["authenticated"] is True
        assert desk.status(ref) == "approved"
    else:
        refused(desk, ref, CLERK, "APPROVE", "the council's mail server did not confirm this message came from you")
        assert reason in decision["reason"]
        assert_unchanged(desk, ref)


@pytest.mark.parametrize("source", ["smtp", "file"])
def test_authentication_results_on_mail_that_did_not_come_through_our_server_count_for_nothing(make_desk, source):
    desk = make_desk(AUTH)
    ref = desk.submit()
    desk.reply(CLERK, "APPROVE", ref=ref, top_headers=(GENUINE_AR,), source=source)  # the listener, `ingest`
    refused(desk, ref, CLERK, "APPROVE", "did not come through our mail server")
    assert_unchanged(desk, ref)


@pytest.mark.parametrize("source", ["imap", "smtp"])
@pytest.mark.parametrize("overrides", [{}, AUTH], ids=["optional", "required"])
def test_an_authenticated_clerk_cannot_decide_by_the_subject_tag_alone(make_desk, overrides, source):
    desk = make_desk({"security": {"trusted_authserv_id": TRUSTED}} | overrides)
    ref = desk.submit()
    before = desk.outbox_count()
    desk.reply(CLERK, "APPROVE", ref=ref, via="subject", top_headers=(GENUINE_AR,), source=source)
    refused(desk, ref, CLERK, "APPROVE", "reply to your review request to decide")
    assert_unchanged(desk, ref)
    assert desk.outbox_count() == before + 1  # the help mail, and nothing more
    assert "reply to your review request to decide" in " ".join(text_of(desk.last("help", CLERK)).split())


def test_a_replayed_key_cannot_make_the_same_decision_twice(any_desk):
    desk = any_desk({"review": {"approvals_required": 2}})
    ref = desk.submit()
    desk.reply(CLERK, "APPROVE", ref=ref)
    desk.reply(CLERK, "APPROVE looks fine", ref=ref, via="message-id")  # another message, the same key
    assert [d["accepted"] for d in desk.decisions(ref)] == [True, False]
    refused(desk, ref, CLERK, "APPROVE", "already been used to approve")
    assert desk.status(ref) == "in_review"


def test_an_expired_key_is_refused(desk):
    ref = desk.submit()
    reply_to = str(desk.request(CLERK, ref)["Reply-To"])
    key = key_from_address(reply_to, OUR_ADDRESS)
    with desk.service.sessions() as session, session.begin():
        aged = update(ReplyKey).values(issued_at=utcnow() - timedelta(days=31))
        session.execute(aged.where(ReplyKey.digest == key_digest(str(key))))
    desk.reply(CLERK, "APPROVE", ref=ref)
    refused(desk, ref, CLERK, "APPROVE", "has expired")
    assert_unchanged(desk, ref)


def test_a_key_that_is_29_days_old_still_works(desk):
    ref = desk.submit()
    key = key_from_address(str(desk.request(CLERK, ref)["Reply-To"]), OUR_ADDRESS)
    with desk.service.sessions() as session, session.begin():
        aged = update(ReplyKey).values(issued_at=utcnow() - timedelta(days=29))
        session.execute(aged.where(ReplyKey.digest == key_digest(str(key))))
    desk.reply(CLERK, "APPROVE", ref=ref)
    assert desk.status(ref) == "approved"


def test_a_key_for_one_item_with_the_subject_naming_another_is_refused(desk):
    first = desk.submit(subject="Litter pick on Saturday")
    second = desk.submit(subject="Fun run on Sunday")
    desk.reply(CLERK, "APPROVE", ref=first, subject=f"Re: [{second}] Review draft")
    refused(desk, first, CLERK, "APPROVE", f"belongs to {first}, but the subject names {second}")
    assert desk.status(first) == desk.status(second) == "in_review"
    assert desk.decisions(second) == []


@pytest.mark.parametrize(
    "body",
    [
        "\n\nOn Sat, 28 Nov 2026 at 10:00, Testham SMAT <smat.info@example.org> wrote:\n"
        "> APPROVE\n> Volunteers cleared the path.\n",
        "\n-----Original Message-----\nFrom: Testham SMAT <smat.info@example.org>\nSent: 28 November 2026 10:00\n"
        "To: Town Clerk <clerk@example.org>\nSubject: Review draft\n\nAPPROVE [note]\n",
        "> APPROVE\n",
        "I won't approve this until the photo is changed.\n",
    ],
    ids=["gmail-quote", "outlook-original-message", "short-quote", "prose"],
)
def test_a_command_only_in_quoted_text_or_prose_is_not_a_command(desk, body):
    ref = desk.submit()
    desk.reply(CLERK, body, ref=ref)
    refused(desk, ref, CLERK, "", "no command was recognised")
    assert_unchanged(desk, ref)
    assert len(desk.outbox("help", CLERK)) == 1


def test_a_member_who_has_left_the_roster_is_refused_with_the_key_they_were_sent(tmp_path, sqlite_url, make_desk):
    settings = settings_for(tmp_path, sqlite_url)
    with_gone_active = dataclasses.replace(
        settings, people=tuple(dataclasses.replace(p, active=True) if p.email == GONE else p for p in settings.people)
    )
    desk = make_desk(settings=with_gone_active)  # the roster in the database is seeded with them active
    ref = desk.submit()
    gones = desk.request(GONE, ref)
    with transaction(desk.service.sessions) as session:  # they leave: `roster remove`, or a confirmed REMOVE SMAT
        roster.remove_member(session, with_gone_active, GONE, "clerk@example.org")
    desk.reply(GONE, "APPROVE", ref=ref, answering=gones)
    refused(desk, ref, GONE, "APPROVE", "no longer an active member")
    assert_unchanged(desk, ref)


def test_a_member_taken_back_on_cannot_use_a_key_sent_before_they_left(make_desk):
    desk = make_desk()
    ref = desk.submit()
    sams = desk.request(SAM, ref)
    with transaction(desk.service.sessions) as session:
        roster.remove_member(session, desk.service.settings, SAM, "clerk@example.org")
        roster.add_member(session, desk.service.settings, "Sam Smat", SAM, "smat", "clerk@example.org")
    desk.reply(SAM, "APPROVE", ref=ref, answering=sams)
    refused(desk, ref, SAM, "APPROVE", "has expired")
    assert_unchanged(desk, ref)


@pytest.mark.parametrize(
    "sender, reason",
    [
        (GONE, "no longer an active member"),
        (CLLR, "only the Town Clerk, the Deputy Town Clerk and SMAT members"),
        (PAT, "only the Town Clerk, the Deputy Town Clerk and SMAT members"),
    ],
    ids=["inactive-member", "councillor", "staff"],
)
def test_roster_members_without_authority_are_refused(make_desk, sender, reason):
    """Their role comes from the roster; that every SMAT command refuses it is tabled in test_decisions.py."""
    command = "APPROVE"
    desk = make_desk(AUTH)
    ref = desk.submit()
    desk.reply(sender, command, ref=ref, via="subject", top_headers=(GENUINE_AR,))  # even authenticated
    refused(desk, ref, sender, command.split()[0], reason)
    assert_unchanged(desk, ref)


# --------------------------------------------------------------------------- 3. the rules


def test_the_member_can_answer_the_help_mail_with_the_corrected_command(desk):
    ref = desk.submit()
    desk.reply(CLERK, "REJECT", ref=ref)
    help_mail = desk.last("help", CLERK)
    desk.reply(CLERK, "REJECT too political", ref=ref, via="message-id", answering=help_mail)
    assert desk.status(ref) == "rejected"


def test_the_first_decisive_command_wins_and_a_later_one_is_told_who_decided_when(any_desk):
    desk = any_desk({"council": {"timezone": "Pacific/Auckland"}})  # far from UTC: the time is the council's
    ref = desk.submit()
    desk.reply(CLERK, "APPROVE", ref=ref)
    approved_at = desk.decisions(ref)[-1]
    desk.reply(DEPUTY, "REJECT too political", ref=ref)
    assert desk.status(ref) == "approved"
    decision = refused(desk, ref, DEPUTY, "REJECT", f"{ref} has already been approved by {CLERK} at ")
    help_text = text_of(desk.last("help", DEPUTY))
    assert f"already been approved by {CLERK} at " in " ".join(help_text.split())
    events = desk.events(ref, "decision")
    when = events[0].at.astimezone(desk.service.settings.council.tz)
    assert f"{when:%H:%M on %d %B %Y}" in decision["reason"]
    assert approved_at["accepted"] is True
    assert not desk.outbox("decision", JANE)[1:]  # the drafter heard once: approved


def test_every_other_smat_member_is_told_of_a_decision(desk):
    ref = desk.submit()
    desk.reply(DEPUTY, "REJECT the date is wrong", ref=ref)
    notices = desk.outbox("decision")
    to = sorted(m["To"].addresses[0].addr_spec for m in notices)
    assert to == sorted([JANE, CLERK, SAM])  # the drafter, and every SMAT member but the one who decided
    for member in (CLERK, SAM):
        body = text_of(desk.last("decision", member))
        assert "rejected" in body and "the date is wrong" in body
    queued = [e.detail for e in desk.events(ref, "mail_queued")]  # one history line per mail, its purpose first
    assert sorted(queued) == sorted(f"decision to {to}" for to in (JANE, CLERK, SAM))


def test_every_smat_member_gets_ready_to_post_after_approval(desk):
    ref = desk.submit(photos=1)
    desk.reply(SAM, "APPROVE", ref=ref)
    ready = desk.outbox("ready-to-post")
    assert sorted(m["To"].addresses[0].addr_spec for m in ready) == sorted(REVIEWERS)
    for mail in ready:
        assert DRAFT_TEXT in text_of(mail)
        assert [p.get_content_type() for p in mail.iter_attachments()] == ["image/jpeg"]
        assert mail["Reply-To"] and "+" in str(mail["Reply-To"])


def test_two_approvals_need_two_different_members(any_desk):
    desk = any_desk({"review": {"approvals_required": 2}})
    ref = desk.submit()
    desk.reply(CLERK, "APPROVE", ref=ref)
    assert desk.status(ref) == "in_review"
    assert "Approvals so far: 1" in text_of(desk.last("decision", SAM))
    desk.reply(DEPUTY, "APPROVE", ref=ref)
    assert desk.status(ref) == "approved"
    assert not desk.outbox("decision", JANE)[1:]


def test_edit_replaces_the_text_and_shows_the_drafter_their_version_and_ours_with_no_diff(desk):
    ref = desk.submit(
        body="Hello,\n\nVolunteers cleared the riverside path this morning. Thank you all!\n\nBest wishes,\nJane"
    )
    desk.reply(SAM, "EDIT\nVolunteers cleared the riverside path on Saturday.\nThank you all!", ref=ref)
    item = desk.item(ref)
    assert item == {"status": "in_review", "text": "Volunteers cleared the riverside path on Saturday.\nThank you all!"}
    notice = desk.last("decision", JANE)
    body = text_of(notice).replace("\r\n", "\n")
    mine, ours = body.split("Your version:\n", 1)[1].split("Our edited version:\n", 1)
    assert (
        mine.strip() == "Volunteers cleared the riverside path this morning. Thank you all!"
    )  # her post, not her email
    assert ours.split("\n\n", 1)[0] == "Volunteers cleared the riverside path on Saturday.\nThank you all!"
    assert "If you're not happy with the changes, reply and tell us why." in body
    assert "It still needs approval" in body
    html = notice.get_body(("html",)).get_content()
    for diff_mark in ("--- as sent", "+++ as edited", "@@", "<pre", "pre-wrap"):
        assert diff_mark not in body and diff_mark not in html
    assert "Your version" in html and "Our edited version" in html
    assert body.startswith("Hello,")  # a member of the public: no name to go by, and never "Dear sender"
    again = [m for m in desk.outbox("review-request") if "edited" in m["Subject"]]  # every reviewer, the editor too
    assert sorted(m["To"].addresses[0].addr_spec for m in again) == sorted(REVIEWERS)
    for mail in again:
        assert "Volunteers cleared the riverside path on Saturday." in text_of(mail)
        assert "Review requests sent before this edit no longer approve it" in " ".join(text_of(mail).split())
    assert not [m for m in desk.outbox("decision") if m["To"].addresses[0].addr_spec in REVIEWERS]


def test_an_edit_clears_the_approvals_given_to_the_old_text(make_desk):
    desk = make_desk({"review": {"approvals_required": 2}})
    ref = desk.submit()
    desk.reply(CLERK, "APPROVE", ref=ref)
    desk.reply(SAM, "EDIT\nNew words.", ref=ref)
    desk.reply(DEPUTY, "APPROVE", ref=ref, answering=desk.request(DEPUTY, ref, latest=True))
    assert desk.item(ref) == {"status": "in_review", "text": "New words."}  # the Clerk's approval was of the old text


@pytest.mark.parametrize("how", ["message-id", "key"])
def test_query_goes_to_the_drafter_and_their_answer_comes_back_to_smat(desk, how):
    ref = desk.submit()
    desk.reply(SAM, "QUERY Do we have the parents' consent for the photo?", ref=ref)
    assert desk.status(ref) == "queried"
    query = desk.last("query", JANE)
    assert "Do we have the parents' consent for the photo?" in text_of(query)

    desk.reply(
        JANE,
        "Yes, every parent signed the form.\n\nOn Sat, someone wrote:\n> QUERY ...",
        ref=ref,
        via=how,
        answering=query,
    )

    assert desk.status(ref) == "in_review"
    forwarded = desk.relayed()
    assert sorted(m["To"].addresses[0].addr_spec for m in forwarded) == sorted(REVIEWERS)
    for mail in forwarded:
        assert "Yes, every parent signed the form." in text_of(mail)
    assert [e.actor for e in desk.events(ref, "drafter_reply")] == [JANE]
    assert not desk.outbox("help", JANE)


def test_a_smat_member_who_drafted_can_answer_a_query_about_their_draft(desk):
    ref = desk.submit(sender=SAM)
    desk.reply(CLERK, "QUERY who took the photo?", ref=ref)
    query = desk.last("query", SAM)
    desk.reply(SAM, "I did, at the litter pick.", ref=ref, via="message-id", answering=query)
    assert desk.status(ref) == "in_review"
    assert "I did, at the litter pick." in text_of(desk.last("query", CLERK))
    assert not desk.outbox("help", SAM)


def test_posted_is_refused_before_approval_and_recorded_after(desk):
    ref = desk.submit()
    desk.reply(SAM, "POSTED Facebook https://facebook.com/testham/posts/1", ref=ref)
    refused(desk, ref, SAM, "POSTED", "only after approval")
    assert desk.status(ref) == "in_review"

    desk.reply(CLERK, "APPROVE", ref=ref)
    ready = desk.last("ready-to-post", SAM)
    desk.reply(SAM, "POSTED Facebook https://facebook.com/testham/posts/1", ref=ref, answering=ready)

    assert desk.status(ref) == "posted"
    posted = desk.decisions(ref)[-1]
    assert (posted["command"], posted["accepted"], posted["argument"]) == (
        "POSTED",
        True,
        "Facebook https://facebook.com/testham/posts/1",
    )
    assert "Facebook https://facebook.com/testham/posts/1" in text_of(desk.last("decision", JANE))


def test_the_drafter_can_withdraw_by_replying_to_the_acknowledgement(desk):
    ref = desk.submit()
    ack = desk.last("acknowledgement", JANE)
    desk.reply(JANE, "Withdraw, please", ref=ref, via="message-id", answering=ack)
    assert desk.status(ref) == "withdrawn"
    decision = desk.decisions(ref)[-1]
    assert (decision["actor"], decision["command"], decision["accepted"]) == (JANE, "WITHDRAW", True)
    assert sorted(m["To"].addresses[0].addr_spec for m in desk.outbox("decision")) == sorted([*REVIEWERS, JANE])
    confirmed = desk.last("decision", JANE)  # she hears it took effect, in answer to her own reply
    assert "has been withdrawn, as you asked. Nothing from it will be posted." in text_of(confirmed)
    assert confirmed["Subject"] == f"[{ref}] Withdrawn: Litter pick on Saturday"
    desk.reply(CLERK, "APPROVE", ref=ref)
    refused(desk, ref, CLERK, "APPROVE", "has already been withdrawn")


def test_a_spoofed_drafter_without_any_tie_to_the_item_cannot_withdraw(desk):
    ref = desk.submit(sender=CLLR)  # a roster member, so the subject tag alone finds the item
    desk.reply(CLLR, "WITHDRAW", ref=ref, via="subject")
    refused(desk, ref, CLLR, "WITHDRAW", "could not be tied to mail we sent you")
    assert desk.status(ref) == "in_review"


def command_lines(body: str) -> list[str]:
    """The usage lines of the command list in a mail we sent."""
    listed = body.replace("\r\n", "\n").split("only your new text counts):", 1)[1].strip().split("\n\n", 1)[0]
    return [line.strip() for line in listed.splitlines()]


def help_entries(body: str) -> list[str]:
    """The commands a help mail offers, each as "USAGE: Meaning. For example: …"."""
    listed = body.replace("\r\n", "\n").split("only your new text counts):", 1)[1].split(" is currently ", 1)[0]
    blocks = [block.strip().splitlines() for block in listed.strip().split("\n\n")[:-1]]
    return [f"{lines[0].strip()}: {' '.join(line.strip() for line in lines[1:])}" for lines in blocks]


def test_help_lists_only_the_commands_this_reader_may_use_on_this_item_each_with_its_meaning_and_an_example(desk):
    ref = desk.submit()
    desk.reply(DEPUTY, "help", ref=ref)
    assert help_entries(text_of(desk.last("help", DEPUTY))) == [
        "APPROVE [note]: Approve the draft for posting. For example: APPROVE Lovely photo, thank you",
        "REJECT reason: Reject it; the reason goes to the sender. "
        "For example: REJECT The photo shows children without their parents' consent",
        "EDIT: Then the new text of the post on the following lines. "
        "For example: EDIT (then the text on the lines below)",
        "QUERY question: Ask the sender a question. For example: QUERY Do we have the parents' consent for the photo?",
        "ESCALATE [note]: Pass it to the Town Clerk or Deputy Town Clerk. "
        "For example: ESCALATE It names a candidate in the election",
        "KIND new-kind: Make it a draft, a report or an enquiry; its state follows. For example: KIND report",
        "HELP: Get this list again. For example: HELP",
    ]
    assert desk.item(ref) == {"status": "in_review", "text": DRAFT_TEXT}
    assert desk.decisions(ref)[-1]["accepted"] is True

    desk.reply(JANE, "HELP", ref=ref, via="message-id", answering=desk.last("acknowledgement", JANE))
    assert help_entries(text_of(desk.last("help", JANE))) == [
        "WITHDRAW: Withdraw what you sent; nothing will be posted. For example: WITHDRAW",
        "HELP: Get this list again. For example: HELP",
    ]


def test_after_escalation_each_member_is_offered_what_they_may_still_do(desk):
    ref = desk.submit()
    desk.reply(SAM, "ESCALATE names a councillor", ref=ref)
    assert desk.status(ref) == "escalated"
    told_clerk = [line.split()[0] for line in command_lines(text_of(desk.last("decision", CLERK)))]
    assert told_clerk == ["APPROVE", "REJECT", "EDIT", "QUERY", "KIND", "HELP"]
    desk.reply(SAM, "APPROVE", ref=ref)
    refused(desk, ref, SAM, "APPROVE", "waits for the Town Clerk or Deputy Town Clerk")
    not_done = text_of(desk.last("help", SAM))
    assert "not acted on" in not_done
    assert [entry.split()[0].rstrip(":") for entry in help_entries(not_done)] == ["EDIT", "HELP"]
    desk.reply(DEPUTY, "APPROVE", ref=ref)
    assert desk.status(ref) == "approved"


def test_a_verb_added_by_its_own_definition_is_read_ruled_recorded_and_listed(desk):
    def thank(command: Command, actor: Actor, item: ItemState, rules: Rules) -> Ruling:
        return Ruling("THANK", accepted=True)  # does nothing, tells nobody

    thank_verb = Verb(
        name="THANK",
        usage="THANK [note]",
        meaning="thank the sender; nothing changes",
        example="THANK you",
        past="thanked",
        rule=thank,
        roles=REVIEWER_ROLES,
        states=OPEN_DRAFT,
    )
    pipeline = desk.service.pipeline
    step = next(name for name, value in vars(pipeline).items() if isinstance(value, ReplyStep))
    setattr(pipeline, step, ReplyStep(desk.service.settings, pipeline.composer, default_registry().adding(thank_verb)))
    ref = desk.submit()
    before = desk.outbox_count()

    desk.reply(SAM, "Thank you, a lovely photo", ref=ref)

    decision = desk.decisions(ref)[-1]
    assert (decision["command"], decision["accepted"], decision["argument"]) == ("THANK", True, "you, a lovely photo")
    assert decision["detail"] == "THANK accepted: you, a lovely photo"
    assert desk.item(ref) == {"status": "in_review", "text": DRAFT_TEXT}
    assert desk.outbox_count() == before
    desk.reply(SAM, "HELP", ref=ref, via="message-id")
    listed = help_entries(text_of(desk.last("help", SAM)))
    assert listed[-2:] == [
        "THANK [note]: Thank the sender; nothing changes. For example: THANK you",
        "HELP: Get this list again. For example: HELP",
    ]


@pytest.mark.parametrize("via", ["key", "message-id"])
def test_an_auto_reply_to_a_review_request_gets_no_mail_and_decides_nothing(desk, via):
    ref = desk.submit()
    before = desk.outbox_count()
    outcome = desk.reply(CLERK, "APPROVE\nI am out of the office.", ref=ref, via=via, Auto_Submitted="auto-replied")
    assert (outcome.classification, outcome.ref) == ("automatic", ref)
    assert desk.outbox_count() == before
    assert desk.decisions(ref) == []
    assert_unchanged(desk, ref)
    assert len(desk.events(ref, "automatic_mail_received")) == 1


def test_a_refused_sender_is_told_why_once_per_reason(desk):
    ref = desk.submit()
    before = desk.outbox_count()
    desk.reply(CLLR, "APPROVE", ref=ref, via="subject")
    assert desk.outbox_count() == before + 1
    assert len(desk.outbox("help", CLLR)) == 1
    assert "only the Town Clerk, the Deputy Town Clerk and SMAT members" in text_of(desk.last("help", CLLR))
    desk.reply(CLLR, "REJECT no", ref=ref, via="subject")  # refused for the same reason: already told
    assert desk.outbox_count() == before + 1
    desk.reply(SAM, "REJECT", ref=ref)  # another reason, another person: told
    desk.reply(SAM, "Thanks", ref=ref)  # and another reason again
    assert len(desk.outbox("help", SAM)) == 2


# --------------------------------------------------------------------------- 4. show REF


def test_show_displays_refused_attempts_with_their_reason(desk, tmp_path, sqlite_url, capsys):
    ref = desk.submit()
    desk.reply(CLLR, "APPROVE", ref=ref, via="subject")
    desk.reply(CLERK, "REJECT", ref=ref)
    desk.reply(CLERK, "APPROVE", ref=ref, via="message-id")
    desk.reply(
        SAM, "POSTED Facebook https://facebook.com/testham/posts/1", ref=ref, answering=desk.last("ready-to-post", SAM)
    )

    with desk.service.sessions() as session:
        shown = item_text(queries.get_item(session, ref), desk.service.settings.council.tz)
    assert "APPROVE refused: only the Town Clerk, the Deputy Town Clerk and SMAT members can decide on drafts" in shown
    assert "REJECT refused: a reason is required" in shown
    assert "APPROVE accepted" in shown
    assert "POSTED accepted: Facebook https://facebook.com/testham/posts/1" in shown  # where it went out (policy 6.6)

    config = tmp_path / "show.toml"
    config.write_text(to_toml(settings_data(tmp_path, sqlite_url)))  # the desk's own config, as a file
    assert cli.main(["--config", str(config), "show", ref.lower()]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"decision\s+{re.escape(CLLR)}\s+APPROVE refused: only the Town Clerk", out)
    assert re.search(rf"decision\s+{re.escape(CLERK)}\s+REJECT refused: a reason is required", out)
    assert cli.main(["--config", str(config), "show", ref, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [(d["by"], d["command"], d["accepted"]) for d in shown["decisions"]] == [
        (CLLR, "APPROVE", False),
        (CLERK, "REJECT", False),
        (CLERK, "APPROVE", True),
        (SAM, "POSTED", True),
    ]
    assert "a reason is required" in shown["decisions"][1]["reason"]
    assert shown["status"] == "posted"


def test_the_same_member_approving_again_is_told_another_approval_is_needed(make_desk):
    desk = make_desk({"review": {"approvals_required": 2}})
    ref = desk.submit()
    desk.reply(CLERK, "APPROVE", ref=ref)
    desk.reply(CLERK, "REJECT", ref=ref, via="message-id")  # refused (no reason): a help mail with a new key
    desk.reply(CLERK, "APPROVE", ref=ref, answering=desk.last("help", CLERK))  # another key, the same person
    refused(desk, ref, CLERK, "APPROVE", "you have already approved")
    assert desk.status(ref) == "in_review"
    desk.reply(SAM, "APPROVE", ref=ref)
    assert desk.status(ref) == "approved"


def test_a_drafters_answer_that_starts_with_a_command_word_goes_to_smat(desk):
    ref = desk.submit()
    desk.reply(SAM, "QUERY Do you have the parents' permission for the photo?", ref=ref)
    desk.reply(
        JANE,
        "Approved by the parents of every child in the photo, in writing.",
        ref=ref,
        answering=desk.last("query", JANE),
    )
    assert desk.status(ref) == "in_review"
    assert [e.data.get("command") for e in desk.events(ref, "decision")] == ["QUERY"]  # the drafter decided nothing
    forwarded = desk.relayed()
    assert sorted(str(m["To"]).rsplit("<", 1)[-1].rstrip(">") for m in forwarded) == sorted(REVIEWERS)
    assert "Approved by the parents" in text_of(forwarded[0])


def test_a_stranger_with_a_leaked_key_is_refused_and_sent_nothing(desk):
    ref = desk.submit()
    before = desk.outbox_count()
    desk.reply("mallory@example.net", "APPROVE", ref=ref, to=SAM)
    assert desk.status(ref) == "in_review"
    assert desk.outbox_count() == before  # no help mail to whoever mallory claims to be
    [attempt] = desk.decisions(ref)
    assert attempt["accepted"] is False


def test_the_drafters_answer_to_the_clerks_query_keeps_the_item_escalated(desk):
    ref = desk.submit()
    desk.reply(SAM, "ESCALATE political?", ref=ref)
    desk.reply(CLERK, "QUERY Which candidate is in the photo?", ref=ref)
    assert desk.status(ref) == "queried"
    desk.reply(JANE, "None, it is the mayor at the fete.", ref=ref, answering=desk.last("query", JANE))
    assert desk.status(ref) == "escalated"
    desk.reply(SAM, "APPROVE", ref=ref)
    refused(desk, ref, SAM, "APPROVE", "escalated")


def test_an_unmarked_auto_responder_gets_one_help_mail_not_a_loop(desk):
    ref = desk.submit()
    for _ in range(3):  # "Thanks for your email, I am away" each time we write, with no Auto-Submitted header
        desk.reply(SAM, "Thank you for your email. I am away until Monday.", ref=ref)
    assert len(desk.outbox("help", SAM)) == 1
    assert [d["accepted"] for d in desk.decisions(ref)] == [False, False, False]  # every attempt still on record
