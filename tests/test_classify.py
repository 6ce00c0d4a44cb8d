"""Which messages are submissions, replies, or automatic mail never to be answered (RFC 3834)."""

from __future__ import annotations

import pytest
from samples import auto_reply, draft, golden
from support import OUR_ADDRESS

from intake.classify import (
    AUTOMATIC,
    DRAFT,
    ENQUIRY,
    OWN,
    REPLY,
    REPORT,
    classify,
    submission_kind,
)
from intake.message import parse


def verdict(raw: bytes, replies_to_item: bool = False):
    return classify(parse(raw), OUR_ADDRESS, "example.org", replies_to_item)


@pytest.mark.parametrize(
    "subject, kind",
    [
        ("Litter pick on Saturday", DRAFT),
        ("Report: broken bench on the Market Square", REPORT),
        ("REPORT - streetlight out", REPORT),
        ("Fwd: Report: fly-tipping", REPORT),
        ("Question: who empties the bins?", ENQUIRY),
        ("Enquiry: allotments", ENQUIRY),
        ("Reporting back from the fete", DRAFT),
        ("A question of taste", DRAFT),
    ],
)
def test_subject_word_makes_a_report_or_enquiry_otherwise_a_draft(subject, kind):
    assert submission_kind(subject)[0] == kind


def test_a_plain_draft_is_a_draft():
    assert verdict(draft()).kind == DRAFT


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"List_Id": "<parish.lists.example.org>"},
        {"List_Unsubscribe": "<mailto:leave@example.org>"},
        {"Return_Path": "<>"},
        {"X_Autoreply": "yes"},
        {"X_Auto_Response_Suppress": "OOF"},
    ],
)
def test_machine_mail_is_never_a_submission(headers):
    v = verdict(draft(**headers))
    assert v.kind == AUTOMATIC and not v.may_be_answered


def test_out_of_office_and_bounces_are_automatic():
    assert verdict(auto_reply()).kind == AUTOMATIC
    assert verdict(golden("bounce_report.eml")).kind == AUTOMATIC
    assert verdict(draft(sender="MAILER-DAEMON@example.net")).kind == AUTOMATIC
    assert verdict(draft(subject="Automatic reply: Litter pick")).kind == AUTOMATIC


def test_auto_submitted_no_is_a_person():
    assert verdict(draft(Auto_Submitted="no")).kind == DRAFT


def test_our_own_mail_coming_back_is_recognised():
    raw = draft(sender=OUR_ADDRESS, X_SMAT_Purpose="acknowledgement")
    assert verdict(raw).kind == OWN


def test_a_reply_to_our_mail_is_a_reply_not_a_new_item():
    assert verdict(draft(subject="Re: [SMAT-2026-0001] Draft received"), replies_to_item=True).kind == REPLY


def test_an_auto_reply_to_our_mail_is_still_automatic():
    assert verdict(auto_reply(), replies_to_item=True).kind == AUTOMATIC
