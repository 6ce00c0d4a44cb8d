"""No acknowledgement, ever, to automatic mail (issue 12, Loops): one row per rule, each on real bytes."""

from __future__ import annotations

import pytest

from intake.classify import AUTOMATIC, DRAFT, OWN, classify
from intake.message import parse
from intake.render import new_message_id

US = "drafts@example.org"
OUR_DOMAIN = "example.org"


def eml(sender: str = "jane@example.com", subject: str = "Litter pick on Saturday", headers: str = "") -> bytes:
    """A message as it arrives on the wire: the given extra header lines, then a plain body."""
    head = (
        f"From: Jane Resident <{sender}>\r\n"
        f"To: {US}\r\n"
        f"Subject: {subject}\r\n"
        "Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
        "Message-ID: <abc123@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
    )
    if "content-type:" not in headers.lower():
        head += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
    body = "Volunteers cleared the riverside path this morning.\r\n"
    return (head + headers + "\r\n" + body).encode()


def kind(raw: bytes) -> str:
    return classify(parse(raw), US, OUR_DOMAIN, replies_to_item=False).kind


_REPORT = (
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n',
    "--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
    "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
    "Final-Recipient: rfc822; x@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n--b--\r\n",
)


def test_a_person_s_draft_is_a_draft():
    assert kind(eml()) == DRAFT


@pytest.mark.parametrize(
    "headers",
    [
        "Auto-Submitted: auto-replied\r\n",
        "Auto-Submitted: auto-generated\r\n",
        "Auto-Submitted: auto-notified; owner-email=x@example.net\r\n",
        "Auto-Submitted: nonsense\r\n",  # anything but "no"
        "X-Autoreply: yes\r\n",
        "X-Autorespond: Out of office\r\n",
        "Precedence: bulk\r\n",
        "Precedence: junk\r\n",
        "Precedence: list\r\n",
        "Precedence: auto_reply\r\n",
        "List-Id: Parish news <news.lists.example.net>\r\n",
        "List-Unsubscribe: <mailto:leave@example.net>\r\n",
        "Return-Path: <>\r\n",
    ],
)
def test_machine_headers_are_automatic(headers):
    assert kind(eml(headers=headers)) == AUTOMATIC


@pytest.mark.parametrize(
    "sender",
    [
        "MAILER-DAEMON@mx.example.net",
        "postmaster@example.net",
        "noreply@example.net",
        "no-reply@example.net",
        "do-not-reply@example.net",
        "donotreply@example.net",
    ],
)
def test_machine_senders_are_automatic(sender):
    assert kind(eml(sender=sender)) == AUTOMATIC


def test_a_delivery_or_read_report_is_automatic():
    content_type, body = _REPORT
    raw = eml(headers=content_type).replace(b"Volunteers cleared the riverside path this morning.\r\n", body.encode())
    assert kind(raw) == AUTOMATIC


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Litter pick on Saturday",
        "Auto-reply: Litter pick",
        "AUTO-REPLY: Litter pick",
        "Autoreply: Litter pick",
        "Out of Office: Litter pick",
        "out of the office until Monday",
        "Abwesenheitsnotiz: Litter pick",
        "Automatische Antwort: Litter pick",
        "Réponse automatique : Litter pick",
        "REPONSE AUTOMATIQUE: Litter pick",  # accent dropped by the sender's client
        "=?utf-8?q?R=C3=A9ponse_automatique?= : Litter pick",  # and encoded on the wire
        "Respuesta automática: Litter pick",
        "Respuesta automatica: Litter pick",
        "Risposta automatica: Litter pick",
        "Automatisch antwoord: Litter pick",
        "Autosvar: Litter pick",
        "Resposta automática: Litter pick",
        "Automaattinen vastaus: Litter pick",
        "Automatyczna odpowiedź: Litter pick",
    ],
)
def test_out_of_office_subjects_are_automatic(subject):
    assert kind(eml(subject=subject)) == AUTOMATIC


@pytest.mark.parametrize("subject", ["Automatic bins on the high street", "Office hours at the library", "Autosave"])
def test_ordinary_subjects_that_look_alike_are_drafts(subject):
    assert kind(eml(subject=subject)) == DRAFT


def test_our_loop_header_from_anyone_is_never_answered():
    raw = eml(sender="forwarder@example.net", headers="X-SMAT-Purpose: acknowledgement\r\n")
    assert kind(raw) == AUTOMATIC


def test_one_of_our_message_ids_from_anyone_is_never_answered():
    ours = b"<0123456789abcdef0123456789abcdef.smat@example.org>"  # as render.new_message_id makes them
    raw = eml(sender="forwarder@example.net").replace(b"<abc123@example.com>", ours)
    assert kind(raw) == AUTOMATIC


def test_a_colleague_on_our_domain_writing_their_own_mail_is_a_person():
    raw = eml(sender="clerk@example.org").replace(b"<abc123@example.com>", b"<CAF+x=1@example.org>")
    assert kind(raw) == DRAFT


def test_our_own_mail_from_our_address_is_own():
    raw = eml(sender=US, headers="X-SMAT-Purpose: review-request\r\n")
    assert kind(raw) == OWN


@pytest.mark.parametrize("value", ["no", "No", " no ", "no; comment", "no (a person wrote this)"])
def test_auto_submitted_no_is_acknowledged(value):
    assert kind(eml(headers=f"Auto-Submitted: {value}\r\n")) == DRAFT


def test_the_message_ids_we_make_are_recognised():
    raw = eml(sender="forwarder@example.net").replace(b"<abc123@example.com>", new_message_id(OUR_DOMAIN).encode())
    assert kind(raw) == AUTOMATIC
