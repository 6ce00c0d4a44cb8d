"""The golden replies in tests/replies are what the reply tests need (testbed checks: no product code).

Every mail client has a fixture and an expectation, and every fixture quotes the whole review
request with its command list, so that "the quoted request never survives" is a real check.
"""

from __future__ import annotations

import json
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

pytestmark = pytest.mark.testbed

REPLIES = Path(__file__).parent / "replies"
EXPECTED: dict[str, dict[str, object]] = json.loads((REPLIES / "expected.json").read_text(encoding="utf-8"))
GOLDEN = sorted(REPLIES.glob("*.eml"))
CLIENTS = (
    "gmail",
    "outlook_desktop",
    "outlook_web",
    "apple_mail",
    "iphone",
    "android_gmail",
    "android_samsung",
    "yahoo",
    "aol",
    "hotmail",
    "thunderbird_bottom",
)


def all_text(path: Path) -> str:
    """Every text part of a fixture, decoded by the standard library (HTML tags left in)."""
    msg = message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(msg, EmailMessage)
    return "\n".join(str(part.get_content()) for part in msg.walk() if part.get_content_maintype() == "text")


def test_every_fixture_has_an_expectation_and_every_client_is_there() -> None:
    assert sorted(p.stem for p in GOLDEN) == sorted(EXPECTED)
    for client in CLIENTS:
        assert client in EXPECTED, client
        assert f"{client}_html_only" in EXPECTED or client == "thunderbird_bottom", client
    assert "thunderbird_bottom_html_only" in EXPECTED


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_fixture_quotes_the_whole_review_request_with_its_command_list(path: Path) -> None:
    text = all_text(path)
    assert "approve the draft for posting" in text
    assert "APPROVE" in text and "HELP" in text


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_html_only_fixtures_have_no_plain_text_part(path: Path) -> None:
    msg = message_from_bytes(path.read_bytes(), policy=default)
    types = {part.get_content_type() for part in msg.walk()}
    assert ("text/plain" not in types) == path.stem.endswith("_html_only"), types
