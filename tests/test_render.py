"""Outgoing mail: proper MIME, threaded, marked automatic, and no header injection."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest

from intake.commands import default_registry
from intake.draft_view import draft_view
from intake.render import Composer, FileToAttach, Recipient, one_line
from intake.resources import templates_dir
from intake.vocab import Role

COUNCIL = {
    "name": "Testham Town Council",
    "phone": "01234 567890",
    "email": "",
    "website": "",
    "office": "",
    "urgent_phone": "",
    "response_time": "usually within two working days",
    "privacy_url": "",
}


@pytest.fixture
def composer():
    return Composer(
        templates=templates_dir(), from_address="smat.info@example.org", from_name="Testham Town Council SMAT"
    )


def ack_context(**overrides):
    context = {
        "council": COUNCIL,
        "mailbox": "smat.info@example.org",
        "kind": "draft",
        "subject": "Litter pick",
        "sender": "jane@example.com",
        "sender_name": "Jane",
        "role_label": "Member of the public",
        "received_at": "Saturday 28 November 2026, 10:00",
        "text": "Volunteers cleared the path.",
        "drafter_name": "",
    }
    context.update(overrides)
    return context


def review_context(**overrides):
    """What the pipeline gives the review request: the item, its files, and the commands for each reader."""
    registry = default_registry()
    context = ack_context(**overrides)
    return {
        **context,
        **draft_view(context["text"], 1, 0),
        "attachments": [],
        "pictures": 0,
        "reply_key": "k",
        "commands_for": lambda email: registry.available(Role.SMAT, False, "draft", "in_review"),
    }


def parsed(out):
    return message_from_bytes(out.raw, policy=default)


def test_acknowledgement_is_threaded_and_marked_as_an_automatic_reply(composer):
    out = composer.compose(
        "acknowledgement",
        Recipient("jane@example.com", "Jane"),
        ack_context(),
        ref="SMAT-2026-0042",
        in_reply_to="abc@example.com",
        references=["first@example.com"],
    )
    msg = parsed(out)
    assert msg["Subject"] == "[SMAT-2026-0042] Draft received: Litter pick"
    assert msg["In-Reply-To"] == "<abc@example.com>"
    assert msg["References"] == "<first@example.com> <abc@example.com>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-SMAT-Purpose"] == "acknowledgement"
    assert msg["Message-ID"].strip("<>").endswith("@example.org") and out.message_id == msg["Message-ID"].strip("<>")
    assert msg["Date"]
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    assert "SMAT-2026-0042" in text
    assert "Nothing is posted" in text
    assert "01234 567890" in text  # how else to reach the council


def test_encoded_newline_in_a_subject_adds_no_header(composer):
    # What the parser hands over for "=?utf-8?q?hello=0D=0ABcc:_evil@example.com?=" if it ever kept the newline.
    evil = "hello\r\nBcc: evil@example.com"
    out = composer.compose(
        "acknowledgement",
        Recipient("jane@example.com", "Jane\r\nBcc: x@example.com"),
        ack_context(subject=evil),
        ref="SMAT-2026-0001",
    )
    msg = parsed(out)
    assert msg["Bcc"] is None
    assert "\n" not in msg["Subject"] and "hello Bcc: evil@example.com" in msg["Subject"]
    header_block = out.raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in header_block


def test_html_part_escapes_what_the_sender_wrote(composer):
    out = composer.compose(
        "review-request",
        Recipient("clerk@example.org", "Clerk"),
        review_context(text="<script>alert(1)</script>"),
        ref="SMAT-2026-0001",
        auto_submitted="auto-generated",
    )
    msg = parsed(out)
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<script>alert(1)</script>" in msg.get_body(("plain",)).get_content()


def test_review_request_carries_pictures_and_a_reply_address(composer):
    out = composer.compose(
        "review-request",
        Recipient("clerk@example.org", "Clerk"),
        {
            **review_context(),
            "attachments": [
                {"filename": "a.jpg", "content_type": "image/jpeg", "size_label": "3 bytes", "attached": True}
            ],
            "pictures": 1,
            "reply_key": "key",
        },
        ref="SMAT-2026-0001",
        reply_to="smat.info+key@example.org",
        auto_submitted="auto-generated",
        attachments=[FileToAttach("../../a.jpg", "image/jpeg", b"\xff\xd8\xff")],
    )
    msg = parsed(out)
    assert msg["Reply-To"] == "smat.info+key@example.org"
    [picture] = list(msg.iter_attachments())
    assert picture.get_content_type() == "image/jpeg"
    assert picture.get_content() == b"\xff\xd8\xff"
    assert "APPROVE" in msg.get_body(("plain",)).get_content()


def test_the_review_requests_command_list_shows_each_usage_with_its_meaning(composer):
    out = composer.compose(
        "review-request", Recipient("sam@example.org", "Sam"), review_context(), ref="SMAT-2026-0001"
    )
    text = parsed(out).get_body(("plain",)).get_content()
    html = parsed(out).get_body(("html",)).get_content()
    for verb in default_registry().available(Role.SMAT, False, "draft", "in_review"):
        assert f"  {verb.usage:<23} {verb.meaning}" in text
        assert f"<code>{verb.usage}</code> &ndash; {verb.meaning}" in html
    assert "WITHDRAW" not in text and "POSTED" not in text


def test_one_line_removes_every_kind_of_line_break():
    assert one_line("a\rb\nc\x85d\u2028e\u2029f\x00g") == "a b c d e f g"


def test_composers_sharing_a_template_cache_compile_each_template_once(tmp_path, monkeypatch):
    from jinja2 import Environment

    from intake.render import TemplateCache

    (tmp_path / "note").mkdir()
    (tmp_path / "note" / "subject.txt").write_text("Hello {{ name }}")
    compiled: list[str] = []
    real_compile = Environment.compile

    def counting(self, source, name=None, filename=None, raw=False, defer_init=False):
        compiled.append(name)
        return real_compile(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(Environment, "compile", counting)
    cache = TemplateCache()
    first, second = (
        Composer(templates=tmp_path, from_address="a@example.org", from_name="A", cache=cache) for _ in "12"
    )
    assert first.render("note", "subject.txt", {"name": "Ann"}) == "Hello Ann"
    assert second.render("note", "subject.txt", {"name": "Bob"}) == "Hello Bob"
    assert compiled == ["note/subject.txt"]  # the second composer took the compiled code from the cache
    (tmp_path / "note" / "subject.txt").write_text("Hi {{ name }}")  # a changed template is compiled afresh
    third = Composer(templates=tmp_path, from_address="a@example.org", from_name="A", cache=cache)
    assert third.render("note", "subject.txt", {"name": "Cy"}) == "Hi Cy"
    assert compiled == ["note/subject.txt", "note/subject.txt"]
