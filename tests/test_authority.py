"""Who may decide, with which key, on which text: the attacks of issue 7 replayed through the pipeline.

Each test takes a draft in through `Service.ingest` and replies as an attacker would (the
subject tag alone, a forged Authentication-Results, repeated headers, a pre-edit review
request, a forged drafter, a second address of the drafter, a roster member's name), then
checks that nothing was decided and that the honest route still works.
"""

from __future__ import annotations

import dataclasses

import pytest
from samples import draft
from sqlalchemy import select
from support import OUR_ADDRESS, settings_for
from test_decide_by_reply import (
    CLERK,
    CLLR,
    DEPUTY,
    GENUINE_AR,
    JANE,
    MALLORY,
    SAM,
    TRUSTED,
    Desk,
    new_service,
    refused,
    text_of,
)

from intake.config import Settings
from intake.replykeys import key_from_address
from intake.service import Service
from intake.store.models import Item

EDITED = "Vote for Cllr X!"
NOT_TIED = "reply to your review request to decide"
CHANGED = "has changed since this request was sent; approve the new version from the latest request"


@pytest.fixture
def open_desk(tmp_path, database_url):
    """open_desk(overrides, settings=…) -> a Desk on SQLite and on PostgreSQL."""
    made: list[Service] = []

    def make(overrides: dict | None = None, change=None) -> Desk:
        settings = settings_for(tmp_path, database_url, overrides=overrides)
        service = new_service(change(settings) if change else settings)
        made.append(service)
        return Desk(service)

    yield make
    for service in made:
        service.close()


def flags(desk: Desk, ref: str) -> list[dict]:
    with desk.service.sessions() as session:
        return list(session.scalars(select(Item.flags).where(Item.ref == ref)).one())


def with_second_address(settings: Settings, email: str, other: str) -> Settings:
    people = tuple(dataclasses.replace(p, other_addresses=(other,)) if p.email == email else p for p in settings.people)
    return dataclasses.replace(settings, people=people)


# --------------------------------------------------------------------------- 1. no decision without a key


@pytest.mark.parametrize("where", ["top", "below-received"])
def test_a_forged_authentication_results_with_the_subject_tag_approves_nothing(open_desk, where):
    desk = open_desk({"security": {"trusted_authserv_id": TRUSTED}})
    ref = desk.submit()
    received = "Received: from attacker.example by mx.example.org; Sat, 28 Nov 2026 11:00:00 +0000"
    top = (GENUINE_AR,) if where == "top" else (received, GENUINE_AR)
    for source in ("imap", "smtp", "file"):
        desk.reply(CLERK, "APPROVE", ref=ref, via="subject", top_headers=top, source=source)
        refused(desk, ref, CLERK, "APPROVE", NOT_TIED)
    assert desk.status(ref) == "in_review"
    assert not desk.outbox("decision") and not desk.outbox("ready-to-post")


def test_an_old_signed_mail_with_two_subject_headers_decides_nothing_even_with_a_key(open_desk):
    """The tag route read the first Subject, a DKIM verifier the last: a message repeating one decides nothing."""
    desk = open_desk({"security": {"trusted_authserv_id": TRUSTED}})
    ref = desk.submit()
    desk.reply(
        CLERK,
        "Approved, see you at the meeting",
        ref=ref,
        top_headers=(GENUINE_AR, f"Subject: Re: [{ref}] Review draft"),
        source="imap",
    )
    decision = refused(desk, ref, CLERK, "APPROVE", "more than one Subject header")
    assert decision["repeated_headers"] == ["subject"]
    assert desk.status(ref) == "in_review"
    assert "more than one Subject header" in " ".join(text_of(desk.last("help", CLERK)).split())


@pytest.mark.parametrize("header", ["From: Town Clerk <clerk@example.org>", "Message-ID: <again@example.org>"])
def test_any_repeated_single_instance_header_decides_nothing(open_desk, header):
    desk = open_desk()
    ref = desk.submit()
    desk.reply(CLERK, "REJECT too political", ref=ref, top_headers=(header,))
    refused(desk, ref, CLERK, "REJECT", "more than one")
    assert desk.status(ref) == "in_review"


def test_an_authenticated_keyless_reply_replayed_after_an_edit_still_decides_nothing(open_desk):
    desk = open_desk({"security": {"trusted_authserv_id": TRUSTED}})
    ref = desk.submit()
    replay = {"via": "subject", "top_headers": (GENUINE_AR,), "source": "imap"}
    desk.reply(CLERK, "APPROVE", ref=ref, **replay)
    desk.reply(SAM, f"EDIT\n{EDITED}", ref=ref)
    desk.reply(CLERK, "APPROVE", ref=ref, **replay)
    assert [(d["command"], d["accepted"]) for d in desk.decisions(ref)] == [
        ("APPROVE", False),
        ("EDIT", True),
        ("APPROVE", False),
    ]
    assert desk.item(ref) == {"status": "in_review", "text": EDITED}


# --------------------------------------------------------------------------- 4. approvals tied to the text


def test_an_approval_from_a_request_sent_before_an_edit_is_refused(open_desk):
    """Member A edits in new words, B approves from the old request, A approves: B never saw the words."""
    desk = open_desk({"review": {"approvals_required": 2}})
    ref = desk.submit()
    old_deputy = desk.request(DEPUTY, ref)
    desk.reply(SAM, f"EDIT\n{EDITED}", ref=ref)
    desk.reply(DEPUTY, "APPROVE", ref=ref, answering=old_deputy)
    refused(desk, ref, DEPUTY, "APPROVE", f"the text of {ref} {CHANGED}")
    desk.reply(SAM, "APPROVE", ref=ref, answering=desk.request(SAM, ref, latest=True))
    assert desk.item(ref) == {"status": "in_review", "text": EDITED}  # one approval of the new text, not two

    newest = desk.request(DEPUTY, ref, latest=True)
    assert EDITED in text_of(newest) and "edited by Sam Smat" in text_of(newest)
    assert key_from_address(str(newest["Reply-To"]), OUR_ADDRESS) != key_from_address(
        str(old_deputy["Reply-To"]), OUR_ADDRESS
    )
    desk.reply(DEPUTY, "APPROVE", ref=ref, answering=newest)
    assert desk.status(ref) == "approved"
    approvals = [d for d in desk.decisions(ref) if d["command"] == "APPROVE" and d["accepted"]]
    assert [(d["actor"], d["revision"]) for d in approvals] == [(SAM, 2), (DEPUTY, 2)]


def test_the_clerk_cannot_approve_an_escalated_item_edited_since_the_request(open_desk):
    desk = open_desk()
    ref = desk.submit()
    old_clerk = desk.request(CLERK, ref)
    desk.reply(SAM, "ESCALATE names a candidate", ref=ref)
    desk.reply(SAM, f"EDIT\n{EDITED}", ref=ref)
    assert desk.status(ref) == "escalated"
    desk.reply(CLERK, "APPROVE", ref=ref, answering=old_clerk)
    refused(desk, ref, CLERK, "APPROVE", CHANGED)
    desk.reply(CLERK, "APPROVE", ref=ref, answering=desk.request(CLERK, ref, latest=True))
    assert desk.item(ref) == {"status": "approved", "text": EDITED}


def test_a_reject_or_query_on_the_old_text_still_counts(open_desk):
    desk = open_desk()
    ref = desk.submit()
    old_deputy = desk.request(DEPUTY, ref)
    desk.reply(SAM, f"EDIT\n{EDITED}", ref=ref)
    desk.reply(DEPUTY, "REJECT no campaigning", ref=ref, answering=old_deputy)
    assert desk.status(ref) == "rejected"


# --------------------------------------------------------------------------- 6. drafters' answers need a key


def test_a_forged_answer_from_a_roster_drafter_by_the_subject_tag_is_not_relayed(open_desk):
    desk = open_desk()
    ref = desk.submit(sender=CLLR)
    desk.reply(SAM, "QUERY Do we have the parents' consent?", ref=ref)
    query = desk.last("query", CLLR)
    assert key_from_address(str(query["Reply-To"]), OUR_ADDRESS)  # the question carries a key for the answer

    desk.reply(CLLR, "Yes, all signed.", ref=ref, via="subject")  # anyone can write this

    assert desk.status(ref) == "queried"
    assert not desk.relayed()
    assert desk.events(ref, "drafter_reply") == []
    refused(desk, ref, CLLR, "", "could not be tied to mail we sent you")
    assert "reply to the mail we sent you" in " ".join(text_of(desk.last("help", CLLR)).split())

    desk.reply(CLLR, "Yes, all signed.", ref=ref, answering=query)  # the real answer, through the query's key
    assert desk.status(ref) == "in_review"
    assert len(desk.relayed()) == 3


@pytest.mark.parametrize("command", ["", "WITHDRAW"])
def test_the_drafter_using_someone_elses_key_is_not_heard(open_desk, command):
    desk = open_desk()
    ref = desk.submit()
    desk.reply(SAM, "QUERY who took the photo?", ref=ref)
    desk.reply(JANE, f"{command}\nI did.".strip(), ref=ref, answering=desk.request(SAM, ref))  # Sam's, forwarded
    assert desk.status(ref) == "queried"
    assert not desk.relayed()
    assert desk.decisions(ref)[-1]["accepted"] is False


# --------------------------------------------------------------------------- 7. self-approval by another address


def test_a_member_drafting_from_a_sub_address_cannot_approve_it(open_desk):
    desk = open_desk()
    ref = desk.submit(sender="sam+drafts@example.org")
    desk.reply(SAM, "APPROVE", ref=ref)
    refused(desk, ref, SAM, "APPROVE", "you cannot approve your own draft")
    assert desk.status(ref) == "in_review"


def test_a_member_drafting_from_a_second_address_cannot_approve_it(open_desk):
    desk = open_desk(change=lambda s: with_second_address(s, SAM, "sam.home@example.net"))
    ref = desk.submit(sender="sam.home@example.net")
    desk.reply(SAM, "APPROVE", ref=ref)
    refused(desk, ref, SAM, "APPROVE", "you cannot approve your own draft")
    assert desk.status(ref) == "in_review"


def test_a_key_sent_to_a_members_roster_address_does_not_work_from_their_other_address(open_desk):
    desk = open_desk(change=lambda s: with_second_address(s, DEPUTY, "dep@example.net"))
    ref = desk.submit()
    desk.reply("dep@example.net", "APPROVE", ref=ref, answering=desk.request(DEPUTY, ref))
    refused(desk, ref, "dep@example.net", "APPROVE", "sent to another SMAT member")
    assert desk.status(ref) == "in_review"


@pytest.mark.parametrize("name", ["Town Clerk", "town  clerk", '"Sam Smat"'])
def test_a_draft_in_a_members_name_from_another_address_needs_the_clerk(open_desk, name):
    """The high-flag rule through the whole pipeline: only the Clerk or Deputy may approve it."""
    desk = open_desk()
    outcome = desk.service.ingest(draft(sender=MALLORY, name=name.strip('"')), "file")
    ref = outcome.ref
    [flag] = flags(desk, ref)
    assert (flag["rule"], flag["section"], flag["severity"]) == ("impersonation", "6.3", "high")
    assert MALLORY in flag["excerpt"]
    desk.reply(SAM, "APPROVE", ref=ref)
    refused(desk, ref, SAM, "APPROVE", "high-severity flag")
    desk.reply(DEPUTY, "APPROVE", ref=ref)
    assert desk.status(ref) == "approved"


def test_a_draft_in_ones_own_name_carries_no_flag(open_desk):
    desk = open_desk()
    ref = desk.service.ingest(draft(sender="sam+drafts@example.org", name="Sam Smat"), "file").ref
    assert flags(desk, ref) == []
    assert flags(desk, desk.submit()) == []
