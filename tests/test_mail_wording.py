"""What our mail says (issue 10), read from the outbox after real mail went through the pipeline.

Each test is one defect of issue 10 that must not come back: the ready-to-post mail hands
over the post itself to one named poster, an edit is shown as two versions, a drafter's
answer keeps its files, a withdrawal is confirmed, and nothing promises what the service
does not do.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid

import pytest
from samples import TINY_JPEG, draft
from sqlalchemy import select
from support import settings_for
from test_decide_by_reply import CLERK, CLLR, DEPUTY, JANE, REVIEWERS, SAM, Desk, new_service, text_of

from intake.store.models import Attachment, Item


@pytest.fixture
def desk(tmp_path, sqlite_url):
    service = new_service(settings_for(tmp_path, sqlite_url))
    yield Desk(service)
    service.close()


CONTRACT_PURPOSES = {
    "acknowledgement",
    "review-request",
    "decision",
    "query",
    "ready-to-post",
    "standard-response",
    "digest",
    "report",
    "help",
}
ANNE_DRAFT = (
    "Dear SMAT,\n\n"
    "Draft post for the council's pages:\n"
    "The Christmas lights go on in the Market Square at 6pm on Friday. Come along for carols and mince pies!\n\n"
    "Best wishes,\n"
    "Anne\n"
    "Cllr Anne Whitmore, Ivel Ward"
)
POST = "The Christmas lights go on in the Market Square at 6pm on Friday. Come along for carols and mince pies!"


def plain(msg: EmailMessage) -> str:
    """The plain-text part with its lines joined, as a reader takes it in."""
    return " ".join(text_of(msg).split())


def html_of(msg: EmailMessage) -> str:
    return msg.get_body(("html",)).get_content()


def to(msg: EmailMessage) -> str:
    return msg["To"].addresses[0].addr_spec


def test_ready_to_post_hands_over_the_post_itself_with_the_approvers_note_to_one_poster(desk):
    ref = desk.submit(sender=CLLR, body=ANNE_DRAFT, subject="FW: Christmas lights")
    desk.reply(SAM, "APPROVE Good to go on Facebook and X.", ref=ref)

    ready = desk.outbox("ready-to-post")
    assert sorted(to(m) for m in ready) == sorted(REVIEWERS)
    for mail in ready:
        body = plain(mail)
        assert POST in body
        for covering in ("Dear SMAT", "Best wishes", "Ivel Ward"):  # the email around the post is not the post
            assert covering not in body.split("----- The post -----", 1)[1]
        assert "No pictures." in body and "pictures are attached" not in body
        assert "Note from Sam Smat (SMAT member): Good to go on Facebook and X." in body
        assert "Accounts: Facebook, X (Twitter)" in body
        assert "approved by Sam Smat (SMAT member)" in body and "(Sam Smat (SMAT member))" not in body
        assert mail["Subject"].endswith("Ready to post (yours to post): Christmas lights") == (to(mail) == SAM)
    [sams] = [m for m in ready if to(m) == SAM]
    assert "Please post it." in plain(sams) and "POSTED account [link]" in plain(sams)
    for other in (m for m in ready if to(m) != SAM):  # told it is in hand, so it does not go out twice
        assert "Sam Smat (SMAT member) will post it. You need do nothing" in plain(other)
        assert "POSTED account [link]" not in plain(other)


def test_the_approver_can_name_another_member_to_post_it(desk):
    ref = desk.submit(photos=2)
    desk.reply(CLERK, "APPROVE Sam to post this one on Instagram please", ref=ref)
    ready = {to(m): m for m in desk.outbox("ready-to-post")}
    assert "Please post it: Town Clerk asked you to." in plain(ready[SAM])
    assert "Sam Smat (SMAT member) will post it, as Town Clerk asked." in plain(ready[CLERK])
    assert "Accounts: Instagram" in plain(ready[DEPUTY])
    assert "Pictures (2, attached" in plain(ready[SAM]) and "No pictures" not in plain(ready[SAM])
    assert len(list(ready[SAM].iter_attachments())) == 2


def answer_with_photo(desk, ref: str, query: EmailMessage) -> None:
    """Jane answers the question through its reply address, with the consent form's photo attached."""
    msg = EmailMessage()
    msg["From"] = f"Jane Resident <{JANE}>"
    msg["To"] = str(query["Reply-To"])
    msg["Subject"] = f"Re: [{ref}] A question about your draft"
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content("Yes: here is the signed consent form.")
    msg.add_attachment(TINY_JPEG, maintype="image", subtype="jpeg", filename="consent.jpg")
    desk.service.ingest(msg.as_bytes(policy=SMTP), "smtp", envelope_recipients=[str(query["Reply-To"])])


def test_a_drafters_answer_to_a_query_keeps_its_photo_on_the_item_and_in_the_relayed_mail(desk):
    ref = desk.submit()
    desk.reply(SAM, "QUERY Do we have the parents' consent?", ref=ref)
    answer_with_photo(desk, ref, desk.last("query", JANE))

    assert desk.status(ref) == "in_review"
    with desk.service.sessions() as session:
        item_id = session.scalars(select(Item.id).where(Item.ref == ref)).one()
        kept = session.scalars(select(Attachment.filename).where(Attachment.item_id == item_id)).all()
    assert kept == ["consent.jpg"]
    relayed = desk.relayed()
    assert sorted(to(m) for m in relayed) == sorted(REVIEWERS)
    for mail in relayed:
        [picture] = list(mail.iter_attachments())
        assert picture.get_content_type() == "image/jpeg"
        assert "1 file came with it, kept with" in plain(mail) and "consent.jpg" in plain(mail)


def test_a_photo_that_comes_with_an_answer_is_numbered_on_from_the_drafts_own(desk):
    ref = desk.submit(photos=2)  # picture-1.jpg and picture-2.jpg
    desk.reply(SAM, "QUERY Do we have the parents' consent?", ref=ref)
    answer_with_photo(desk, ref, desk.last("query", JANE))

    with desk.service.sessions() as session:
        item_id = session.scalars(select(Item.id).where(Item.ref == ref)).one()
        names = session.scalars(select(Attachment.prepared_name).where(Attachment.item_id == item_id)).all()
        notes = session.scalars(select(Attachment.note).where(Attachment.prepared_name == "picture-3.jpg")).all()
    assert sorted(names) == ["picture-1.jpg", "picture-2.jpg", "picture-3.jpg"]
    assert notes and all("picture-1" not in note for note in notes)  # the note names the copy as it is sent
    for mail in desk.relayed():
        assert [part.get_filename() for part in mail.iter_attachments()] == ["picture-3.jpg"]


def test_a_forged_answer_adds_no_file_to_the_item(desk):
    ref = desk.submit(sender=CLLR)  # on the roster, so the subject tag alone finds the item
    desk.reply(SAM, "QUERY Do we have the parents' consent?", ref=ref)
    fake = EmailMessage()
    fake["From"] = f"Cllr Jones <{CLLR}>"
    fake["To"] = "smat.info@example.org"
    fake["Subject"] = f"Re: [{ref}] A question about your draft"
    fake["Message-ID"] = make_msgid(domain="example.com")
    fake.set_content("Yes.")
    fake.add_attachment(TINY_JPEG, maintype="image", subtype="jpeg", filename="not-mine.jpg")
    assert desk.service.ingest(fake.as_bytes(policy=SMTP), "smtp").ref == ref
    assert desk.status(ref) == "queried" and not desk.relayed()
    with desk.service.sessions() as session:
        assert session.scalars(select(Attachment.filename)).all() == []


def test_withdraw_is_confirmed_to_the_drafter_who_sent_it(desk):
    ref = desk.submit()
    desk.reply(JANE, "WITHDRAW", ref=ref, answering=desk.last("acknowledgement", JANE), via="message-id")
    [confirmation] = desk.outbox("decision", JANE)
    assert "has been withdrawn, as you asked. Nothing from it will be posted." in plain(confirmation)


def test_no_mail_promises_what_the_service_does_not_do(desk):
    report = desk.service.ingest(draft(subject="Report: broken bench in the park"), "smtp").ref
    enquiry = desk.service.ingest(draft(subject="Question: who empties the bins?", sender="q@example.com"), "smtp").ref
    ref = desk.submit(sender="r@example.com")
    desk.reply(SAM, "APPROVE", ref=ref)
    acks = {m["X-SMAT-Ref"]: m for m in desk.outbox("acknowledgement")}
    assert "let you know" not in plain(acks[report])
    assert acks[report]["Subject"] == f"[{report}] Report received: broken bench in the park"
    assert "will reply to you by email" not in plain(acks[enquiry])
    assert acks[enquiry]["Subject"] == f"[{enquiry}] Question received: who empties the bins?"
    approved = desk.last("decision", "r@example.com")
    assert "will be posted" not in plain(approved) and "has been approved" in plain(approved)


def test_subjects_carry_no_doubled_prefixes(desk):
    ref = desk.submit(subject="FW: Re: Litter pick")
    [ack] = desk.outbox("acknowledgement")
    assert ack["Subject"] == f"[{ref}] Draft received: Litter pick"


def test_every_mail_of_a_busy_day_has_a_contract_purpose_a_greeting_and_no_machine_sign_off(desk):
    ref = desk.submit()
    desk.reply(SAM, "QUERY Who took the photo?", ref=ref)
    desk.reply(JANE, "I did.", ref=ref, answering=desk.last("query", JANE))
    desk.reply(DEPUTY, "EDIT\nVolunteers cleared the path on Saturday.", ref=ref)
    desk.reply(CLERK, "APPROVE", ref=ref, answering=desk.request(CLERK, ref, latest=True))
    desk.reply(CLERK, "POSTED Facebook https://facebook.com/x/1", ref=ref, answering=desk.last("ready-to-post", CLERK))
    desk.reply(SAM, "What is this?", ref=ref, answering=desk.request(SAM, ref, latest=True))
    mails = desk.outbox()
    assert {m["X-SMAT-Purpose"] for m in mails} <= CONTRACT_PURPOSES
    assert {"acknowledgement", "review-request", "query", "decision", "ready-to-post", "help"} <= {
        m["X-SMAT-Purpose"] for m in mails
    }
    for mail in mails:
        text = text_of(mail)
        assert "smat-intake" not in text and "smat-intake" not in html_of(mail)
        assert "Dear sender" not in text and "Dear colleague" not in text
        assert "Reply key" not in text
        assert text.startswith(("Dear ", "Hello,")), text[:40]


def test_the_review_request_shows_the_covering_note_and_the_proposed_post_apart(desk):
    ref = desk.submit(sender=CLLR, body=ANNE_DRAFT)
    text = text_of(desk.request(SAM, ref)).replace("\r\n", "\n")
    note = text.split("----- Covering note", 1)[1].split("-----\n", 1)[1].split("\n\n", 1)[0]
    assert "Dear SMAT," in note and "Cllr Anne Whitmore, Ivel Ward" in note and POST not in note
    post = text.split("----- Proposed post", 1)[1].split("-----\n", 1)[1].split("\n----- End", 1)[0]
    assert post == POST
    assert "reply with EDIT" in text
    html = html_of(desk.request(SAM, ref))
    assert "Covering note" in html and "Proposed post" in html and "pre-wrap" not in html


def test_the_choir_photo_draft_reaches_reviewers_with_the_under_18_line_highlighted(desk):
    body = "Hello,\nThe choir photo has some of the children in it — the school said it was fine.\nThanks,\nTom"
    ref = desk.submit(body=body, photos=1)
    for reviewer in REVIEWERS:
        request = desk.request(reviewer, ref)
        lines = text_of(request).replace("\r\n", "\n").splitlines()
        [minors] = [line for line in lines if "Under-18s" in line]
        assert minors.startswith("  >> Check:") and "mentions: children, school" in minors
        [copyright_line] = [line for line in lines if "copyright owner" in line]
        assert not copyright_line.startswith("  >> CHECK")  # only the lines it touches stand out
        html = html_of(request)
        assert "<strong>Check:</strong> Under-18s need a parent" in html
    desk.reply(CLERK, "APPROVE", ref=ref)
    ready = text_of(desk.last("ready-to-post", SAM))
    assert ">> Check: Under-18s" in ready and "council device" in ready


def test_an_unrecognised_question_is_quoted_back_with_query_suggested_and_seen_by_no_one_else(desk):
    ref = desk.submit()
    before = len(desk.outbox())
    desk.reply(SAM, "Has the school got parental consent for the photo?", ref=ref)
    [answer] = desk.outbox()[before:]  # only the answer to Sam: nobody else hears of it
    assert to(answer) == SAM and answer["X-SMAT-Purpose"] == "help"
    text = plain(answer)
    assert "You wrote: Has the school got parental consent for the photo?" in text
    assert "No one else saw it" in text
    assert "reply with QUERY at the start of the first line, for example: QUERY Has the school got parental" in text
    assert "QUERY question Ask the sender a question. For example: QUERY Do we have" in text
    assert "WITHDRAW" not in text and "POSTED" not in text  # only what Sam may use on this item now


PRIVACY = "https://www.testham.example/privacy-notice"
COUNCIL = {"council": {"urgent_phone": "01234 999000", "response_time": "usually within three working days"}}


@pytest.fixture
def council_desk(tmp_path, sqlite_url):
    overrides = {"council": {**COUNCIL["council"], "privacy_url": PRIVACY}}
    service = new_service(settings_for(tmp_path, sqlite_url, overrides=overrides))
    yield Desk(service)
    service.close()


def test_every_acknowledgement_gives_the_drafting_rules_when_to_expect_an_answer_withdraw_and_photos(council_desk):
    council_desk.submit()
    text = plain(council_desk.last("acknowledgement", JANE))
    assert "you will hear whether the post has been approved, usually within three working days." in text
    assert "Reply with WITHDRAW and nothing will be posted." in text
    assert "Photos are welcome" in text
    assert "policy 6.3" in text and "stick to what you know" in text
    assert "Views expressed are my own" not in text  # a member of the public has no personal-account rules


@pytest.mark.parametrize(
    "sender, section, disclaimer",
    [(CLLR, "As a councillor (policy 8)", "Testham Town Council"), ("pat@example.org", "(policy 7)", "my employer")],
)
def test_councillors_and_staff_are_reminded_of_their_own_accounts_and_the_disclaimer(
    council_desk, sender, section, disclaimer
):
    council_desk.submit(sender=sender)
    text = plain(council_desk.last("acknowledgement", sender))
    assert section in text
    assert f"Views expressed are my own and not those of {disclaimer}. A retweet or like is not an endorsement." in text


def test_report_and_enquiry_acknowledgements_say_what_to_do_if_it_is_urgent_and_keep_sensitive_matters_private(
    council_desk,
):
    for subject in ("Report: a fallen tree across the path", "Question: when is the fete?"):
        council_desk.service.ingest(draft(subject=subject), "smtp")
    acks = council_desk.outbox("acknowledgement")
    assert len(acks) == 2
    for ack in acks:
        text = plain(ack)
        assert "If something is dangerous or urgent, please do not wait for an email: telephone the council on" in text
        assert "01234 999000" in text and "call 999" in text
        assert "keep personal or sensitive matters off social media" in text


def test_every_mail_to_the_public_links_the_privacy_notice_and_mail_to_smat_does_not_need_to(council_desk):
    ref = council_desk.submit()
    council_desk.reply(SAM, "QUERY Who took the photo?", ref=ref)
    council_desk.reply(JANE, "I did.", ref=ref, answering=council_desk.last("query", JANE))
    council_desk.reply(SAM, "REJECT Not for the council's pages", ref=ref)
    to_jane = council_desk.outbox(to=JANE)
    assert {m["X-SMAT-Purpose"] for m in to_jane} == {"acknowledgement", "query", "decision"}
    for mail in to_jane:
        assert PRIVACY in text_of(mail) and f'href="{PRIVACY}"' in html_of(mail)


def test_pictures_are_shown_as_thumbnails_with_alt_text_as_well_as_attached(desk):
    ref = desk.submit(photos=2)
    request = desk.request(SAM, ref)
    html = html_of(request)
    attached = list(request.iter_attachments())
    assert len(attached) == 2 and all(a.get_content_disposition() == "attachment" for a in attached)
    for n, part in enumerate(attached, 1):
        assert f'src="cid:{part["Content-ID"].strip("<>")}"' in html
        assert f'alt="Picture {n} of 2 from Jane Resident"' in html
