"""Reports tracked until ACTIONED, ASSIGN, KIND and standard responses (RESPOND), through the real pipeline.

Mail goes in through `Service.ingest` as it would arrive; replies go to the Reply-To
plus-address of the mail they answer, as a member's mail client sends them; the digest is
the one queued for the Clerk. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid

import pytest
from samples import draft
from sqlalchemy import select
from support import OUR_ADDRESS, ROSTER, make_service, queued

from intake.service import Service
from intake.store.models import Event, Item, OutboxMessage

CLERK, DEPUTY, SAM = "clerk@example.org", "deputy@example.org", "sam@example.org"
PAT, JANE, MALLORY = "pat@example.org", "jane@example.com", "mallory@example.net"
NAMES = {p["email"]: p["name"] for p in ROSTER} | {JANE: "Jane Resident", MALLORY: "Mallory"}


@pytest.fixture
def service(tmp_path, database_url):
    made = make_service(tmp_path, database_url)
    yield made
    made.close()


def submit(service: Service, subject: str, body: str, photos: int = 0) -> str:
    outcome = service.ingest(draft(sender=JANE, subject=subject, body=body, photos=photos), "smtp")
    assert outcome.ref, outcome
    return outcome.ref


def mails(service: Service, purpose: str, to: str, ref: str) -> list[EmailMessage]:
    """Mail of one purpose to one person about one item, oldest first."""
    with service.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == purpose).order_by(OutboxMessage.id))
        wanted = [to in r.recipients for r in rows]
    found = queued(service, purpose)
    return [m for m, ok in zip(found, wanted, strict=True) if ok and f"[{ref}]" in m["Subject"]]


def request(service: Service, member: str, ref: str) -> EmailMessage:
    """The newest review request `member` was sent for `ref`."""
    found = mails(service, "review-request", member, ref)
    assert found, (member, ref)
    return found[-1]


def reply(service: Service, sender: str, body: str, answering: EmailMessage | None, ref: str = ""):
    """A reply from `sender` to the Reply-To of `answering`; with no mail to answer, only the subject tag."""
    msg = EmailMessage()
    msg["From"] = f"{NAMES.get(sender, 'Someone')} <{sender}>"
    to = str(answering["Reply-To"]) if answering is not None else OUR_ADDRESS
    msg["To"] = to
    msg["Subject"] = f"Re: {answering['Subject']}" if answering is not None else f"Re: [{ref}] the report"
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    msg.set_content(body)
    return service.ingest(msg.as_bytes(policy=SMTP), "smtp", envelope_recipients=[to])


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html_of(msg: EmailMessage) -> str:
    return msg.get_body(("html",)).get_content()


def item(service: Service, ref: str) -> Item:
    with service.sessions() as session:
        found = session.scalars(select(Item).where(Item.ref == ref)).one()
        session.expunge(found)
        return found


def decisions(service: Service, ref: str) -> list[dict]:
    with service.sessions() as session:
        item_id = session.scalars(select(Item.id).where(Item.ref == ref)).one()
        events = session.scalars(
            select(Event).where(Event.item_id == item_id, Event.kind == "decision").order_by(Event.id)
        )
        return [{"actor": e.actor, "detail": e.detail, **e.data} for e in events]


def digest_text(service: Service, now: datetime) -> str:
    """The digest sent for the day of `now`, as it reaches the Clerk."""
    assert service.send_digest(now=now).sent
    to_clerk = [m for m in queued(service, "digest") if CLERK in str(m["To"])]
    return text_of(to_clerk[-1])


def section(text: str, title: str) -> str:
    """One section of a digest's text: from its heading to the next blank line."""
    start = text.index(title)
    end = text.find("\n\n", start)
    return text[start : end if end != -1 else None]


# --------------------------------------------------------------------------- reports: notice served


def test_a_report_stays_in_every_digest_until_a_member_replies_actioned_then_the_reporter_hears_back(service):
    ref = submit(
        service, "Report: broken bench on the Market Square", "The bench by the war memorial has a broken slat."
    )
    [ack] = mails(service, "acknowledgement", JANE, ref)
    assert "until a member of the team marks it as actioned; we will then email you what was done" in " ".join(
        text_of(ack).split()
    )
    asked = text_of(request(service, SAM, ref))
    assert "ACTIONED note" in asked and "ASSIGN name-or-address" in asked and "APPROVE" not in asked

    now = datetime.now(UTC)
    for day in (1, 2, 3):  # three daily digests, each listing it with its age
        text = digest_text(service, now + timedelta(days=day))
        assert ref in section(text, "Awaiting a decision") and f"waiting {day} day" in section(text, "Awaiting")
    late = digest_text(service, now + timedelta(days=10))  # more than five working days: escalated to the Clerk
    assert ref in section(late, "Reports overdue: not actioned within 5 working days")
    assert "overdue" in [m for m in queued(service, "digest")][-1]["Subject"]

    reply(
        service, SAM, "ACTIONED The slat was replaced on Tuesday by the works team.\n\nSam", request(service, SAM, ref)
    )
    assert item(service, ref).status == "actioned"
    [heard] = mails(service, "decision", JANE, ref)
    body = text_of(heard)
    assert "The slat was replaced on Tuesday by the works team." in body and "marked it as actioned" in body
    assert "01234 567890" in body  # the council's other ways to reach it
    assert "The slat was replaced" in html_of(heard)
    assert all(mails(service, "decision", member, ref) for member in (CLERK, DEPUTY))  # the other members are told

    after = digest_text(service, now + timedelta(days=11))
    assert ref not in section(after, "Awaiting a decision") and ref not in section(after, "Reports overdue")
    again = reply(service, CLERK, "ACTIONED twice", request(service, CLERK, ref))
    assert again.ref == ref and decisions(service, ref)[-1]["accepted"] is False
    assert "already been actioned by sam@example.org" in decisions(service, ref)[-1]["reason"]
    assert len(mails(service, "decision", JANE, ref)) == 1  # the reporter hears once
    # "reply to this email and your message will go to the team": it does, to every member.
    reply(service, JANE, "The new slat is loose already.", heard)
    assert all(
        "The new slat is loose already." in text_of(mails(service, "query", member, ref)[-1])
        for member in (CLERK, DEPUTY, SAM)
    )


def test_assign_sends_the_report_to_the_roster_member_and_the_history_records_it(service):
    ref = submit(
        service, "Report: graffiti on the bus shelter", "Spray paint all over the shelter on Shortmead Street.", 1
    )
    reply(service, SAM, "ASSIGN Pat Staff\nPlease have it cleaned this week.", request(service, SAM, ref))
    [assigned] = mails(service, "decision", PAT, ref)
    body = text_of(assigned)
    assert "Sam Smat (SMAT member) has assigned report" in body and "Please have it cleaned this week." in body
    assert "Spray paint all over the shelter" in body and JANE in body
    assert "please tell Sam Smat (SMAT member) what was done, at sam@example.org," in " ".join(body.split())
    assert [p.get_content_type() for p in assigned.iter_attachments()] == ["image/jpeg"]
    assert item(service, ref).status == "open"
    last = decisions(service, ref)[-1]
    assert (last["command"], last["accepted"], last["assignee"]) == ("ASSIGN", True, PAT)
    told = text_of(mails(service, "decision", CLERK, ref)[-1])
    assert "assigned to Pat Staff <pat@example.org>" in told
    # The assignee is staff, not SMAT: their ACTIONED does not close the report.
    reply(service, PAT, "ACTIONED cleaned", assigned)
    assert item(service, ref).status == "open"
    assert "only the Town Clerk, the Deputy Town Clerk and SMAT members" in decisions(service, ref)[-1]["reason"]
    awaiting = section(digest_text(service, datetime.now(UTC) + timedelta(hours=1)), "Awaiting a decision")
    assert f"{ref} “Report: graffiti on the bus shelter” (report, open) waiting" in awaiting
    assert "assigned to Pat Staff (Council staff)" in awaiting


def test_a_smat_assignee_closes_the_report_from_the_mail_assigning_it(service):
    ref = submit(service, "Report: street sign missing", "The sign at the end of Mill Lane has gone.")
    reply(service, CLERK, "ASSIGN sam@example.org", request(service, CLERK, ref))
    [assigned] = mails(service, "decision", SAM, ref)[-1:]
    assert "reply to this email starting with ACTIONED" in " ".join(text_of(assigned).split())
    reply(service, SAM, "ACTIONED Reported to Central Bedfordshire, who replaced it.", assigned)
    assert item(service, ref).status == "actioned"
    assert "who replaced it" in text_of(mails(service, "decision", JANE, ref)[-1])


# --------------------------------------------------------------------------- standard responses


def test_an_enquiry_about_bins_gets_the_standard_response_chosen_by_a_reviewer(service):
    ref = submit(service, "Question: bin collection", "Our bins were not collected on Friday. Who should I contact?")
    [ack] = mails(service, "acknowledgement", JANE, ref)
    assert "will reply to you by email" not in text_of(ack)
    asked = text_of(request(service, SAM, ref))
    offered = asked[asked.index("Standard responses that may fit") :]
    suggested = [line.split()[1] for line in offered.splitlines() if line.strip().startswith("RESPOND ")]
    assert suggested[0] == "bins" and suggested[-1] == "default", suggested
    assert "RESPOND bins" in html_of(request(service, SAM, ref))

    reply(service, SAM, "RESPOND bins", request(service, SAM, ref))
    [answer] = mails(service, "standard-response", JANE, ref)
    assert answer["X-SMAT-Purpose"] == "standard-response"
    body = text_of(answer)
    assert "Central Bedfordshire Council" in body and "0300 300 8000" in body
    assert "Telephone: 01234 567890" in body and "office@example.org" in body  # the council's contact details
    assert "Central Bedfordshire Council" in html_of(answer)
    found = item(service, ref)
    assert found.status == "answered"
    last = decisions(service, ref)[-1]
    assert (last["command"], last["accepted"], last["response"]) == ("RESPOND", True, "bins")
    assert '"Bins, recycling and street cleaning' in text_of(mails(service, "decision", CLERK, ref)[-1])


def test_respond_with_an_unknown_key_lists_the_responses_and_sends_nothing(service):
    ref = submit(service, "Question: the mayor", "Who is the mayor this year?")
    reply(service, SAM, "RESPOND mayor", request(service, SAM, ref))
    assert not mails(service, "standard-response", JANE, ref) and item(service, ref).status == "open"
    [helped] = mails(service, "help", SAM, ref)
    assert "no standard response called 'mayor'" in text_of(helped) and "default (" in text_of(helped)


# --------------------------------------------------------------------------- KIND


def test_kind_makes_a_draft_a_report_and_back_and_its_state_follows(service):
    ref = submit(service, "Litter on the riverside", "Please post: call Jane on 07700 900123 to help with the pick.")
    assert item(service, ref).kind == "draft"
    reply(service, SAM, "KIND report", request(service, SAM, ref))
    found = item(service, ref)
    assert (found.kind, found.status) == ("report", "open")
    assert "It is now treated as a report (it came in as a draft)" in text_of(
        mails(service, "decision", CLERK, ref)[-1]
    )

    reply(service, CLERK, "KIND draft", request(service, CLERK, ref))
    found = item(service, ref)
    assert (found.kind, found.status, found.revision) == ("draft", "in_review", 2)
    assert any(flag["rule"] == "personal_data" for flag in found.flags)  # screened as a draft
    fresh = request(service, SAM, ref)
    assert "was made a draft by Town Clerk" in text_of(fresh)
    # The request sent while it was a report does not approve the draft it became; the fresh one does.
    old = mails(service, "review-request", SAM, ref)[0]
    reply(service, SAM, "APPROVE", old)
    assert item(service, ref).status == "in_review"
    assert "has changed since this request was sent" in decisions(service, ref)[-1]["reason"]
    reply(service, SAM, "APPROVE", fresh)
    assert item(service, ref).status == "approved"


# --------------------------------------------------------------------------- impostors


def test_impostors_cannot_close_assign_or_answer(service):
    report = submit(service, "Report: broken swing", "The swing in the play area is broken.")
    enquiry = submit(service, "Question: bins", "When are bins collected?")
    sams = {ref: request(service, SAM, ref) for ref in (report, enquiry)}
    # Mallory writes as Sam with the subject tag only; the Deputy uses Sam's request; a stranger uses it too.
    reply(service, SAM, "ACTIONED fixed", None, ref=report)
    reply(service, DEPUTY, "ACTIONED fixed", sams[report])
    reply(service, MALLORY, "ASSIGN Pat Staff", sams[report])
    reply(service, DEPUTY, "RESPOND bins", sams[enquiry])
    reply(service, MALLORY, "RESPOND bins", sams[enquiry])
    assert (item(service, report).status, item(service, enquiry).status) == ("open", "open")
    assert not mails(service, "decision", JANE, report) and not mails(service, "standard-response", JANE, enquiry)
    assert not mails(service, "decision", PAT, report)
    reasons = [d["reason"] for ref in (report, enquiry) for d in decisions(service, ref)]
    assert any("reply to your review request" in r for r in reasons)
    assert sum("sent to another SMAT member" in r for r in reasons) == 2
    assert sum("only the Town Clerk, the Deputy Town Clerk and SMAT members" in r for r in reasons) == 2
    refused = section(digest_text(service, datetime.now(UTC) + timedelta(hours=1)), "Refused commands")
    assert refused.count("refused") == 5
