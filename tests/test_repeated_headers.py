"""A message that repeats a header RFC 5322 allows once says so (issue 7: two Subjects, two readers)."""

from __future__ import annotations

import pytest

from intake.message import parse
from intake.message.model import SINGLE_HEADERS

BASE = [
    ("From", "Jane Drafter <jane@example.org>"),
    ("To", "smat.info@council.example"),
    ("Subject", "Re: [SMAT-0001] Review draft"),
    ("Date", "Mon, 02 Nov 2026 09:00:00 +0000"),
    ("Message-ID", "<one@example.org>"),
]

SECOND = {
    "from": "Town Clerk <clerk@council.example>",
    "sender": "clerk@council.example",
    "reply-to": "clerk@council.example",
    "to": "other@council.example",
    "cc": "other@council.example",
    "bcc": "other@council.example",
    "subject": "Approved",
    "date": "Tue, 03 Nov 2026 09:00:00 +0000",
    "message-id": "<two@example.org>",
    "in-reply-to": "<three@council.example>",
    "references": "<three@council.example>",
}


def eml(headers: list[tuple[str, str]], body: str = "APPROVE\r\n") -> bytes:
    """Real message bytes with the headers in the order given."""
    return "".join(f"{name}: {value}\r\n" for name, value in headers).encode() + b"\r\n" + body.encode()


def test_an_ordinary_message_repeats_nothing() -> None:
    extra = [("Received", "from a by b"), ("Received", "from c by d"), ("X-Note", "1"), ("X-Note", "2")]
    assert parse(eml(extra + BASE)).repeated_headers == ()


@pytest.mark.parametrize("name", SINGLE_HEADERS)
def test_each_single_header_given_twice_is_named(name: str) -> None:
    once = [h for h in BASE if h[0].lower() != name]
    headers = [*once, (name.title(), SECOND[name]), (name.upper(), SECOND[name])]
    assert parse(eml(headers)).repeated_headers == (name,)


def test_two_subjects_far_apart_are_named_with_the_first_one_still_read() -> None:
    headers = [("Subject", "Re: [SMAT-0001] Review draft"), *BASE[:2], *BASE[3:], ("subject", "Old signed mail")]
    msg = parse(eml(headers))
    assert msg.repeated_headers == ("subject",)
    assert msg.subject == "Re: [SMAT-0001] Review draft"


def test_several_repeated_headers_are_all_named_in_a_stable_order() -> None:
    headers = [*BASE, ("Subject", "again"), ("From", "clerk@council.example"), ("Message-ID", "<x@y>")]
    assert parse(eml(headers)).repeated_headers == ("from", "subject", "message-id")


def test_a_forwarded_message_does_not_count_towards_the_outer_headers() -> None:
    inner = eml(BASE).decode()
    outer = [
        *BASE,
        ("MIME-Version", "1.0"),
        ("Content-Type", 'multipart/mixed; boundary="b"'),
    ]
    body = (
        "--b\r\nContent-Type: text/plain\r\n\r\nSee below\r\n"
        f"--b\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--b--\r\n"
    )
    assert parse(eml(outer, body)).repeated_headers == ()
