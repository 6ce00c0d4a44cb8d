"""Tests for intake.message: golden .eml files in tests/messages plus focused behaviour checks."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from samples import cpython_corpus, mutations

from intake.message import Address, Attachment, InboundMessage, ParseError, mime, parse, reader

MESSAGES = Path(__file__).parent / "messages"
TNEF_DIR = MESSAGES / "tnef"
GOLDEN = sorted(MESSAGES.glob("*.eml"))

# sha256 of the three 8x8 grey baseline JPEGs embedded (base64) in the fixtures.
JPEG_A = "d2ffba09b12d48eee75a0de2ac77116e579e98b4a25bae27edfacc0b8962b753"
JPEG_B = "394191191e39d483334a3516dc92162f966f30eccb364aadd341c2a33aa79d49"
JPEG_C = "120f1732bf0fe860813a27c12d458b5fe0664ddb13c0dcce1692e0ee20e3f759"


def load(name: str) -> InboundMessage:
    """Parse one golden fixture by file name."""
    return parse((MESSAGES / name).read_bytes())


def sha(data: bytes) -> str:
    """Hex sha256, to compare attachment bytes against known values."""
    return hashlib.sha256(data).hexdigest()


def tnef_mail(
    tnef: bytes, body: str | None = None, name: str = "winmail.dat", content_type: str = "application/ms-tnef"
) -> bytes:
    """An Outlook-style message carrying the given bytes as winmail.dat (plus an optional text part)."""
    parts = []
    if body is not None:
        parts.append(f"--tnef\nContent-Type: text/plain; charset=us-ascii\n\n{body}\n")
    encoded = base64.encodebytes(tnef).decode("ascii")
    parts.append(
        f'--tnef\nContent-Type: {content_type}; name="{name}"\n'
        f'Content-Disposition: attachment; filename="{name}"\n'
        f"Content-Transfer-Encoding: base64\n\n{encoded}"
    )
    head = (
        "From: Outlook User <outlook@example.org>\nTo: drafts@smat.info\n"
        "Subject: Draft from Outlook\nDate: Wed, 12 Jun 2024 09:00:00 +0100\n"
        "Message-ID: <tnef-1@example.org>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="tnef"\n\n'
    )
    return (head + "".join(parts) + "--tnef--\n").encode("ascii")


def simple_mail(headers: str, body: bytes = b"body\n") -> bytes:
    """A one-part message from a header block string and body bytes."""
    return headers.strip("\n").encode("utf-8") + b"\n\n" + body


# --------------------------------------------------------------------------- golden files


def _address(value: Address | None) -> list[str] | None:
    return None if value is None else [value.name, value.email]


def _attachment(att: Attachment) -> dict:
    return {
        "filename": att.filename,
        "content_type": att.content_type,
        "inline": att.inline,
        "content_id": att.content_id,
        "origin": att.origin,
        "size": len(att.data),
        "sha256": sha(att.data),
    }


def test_golden_directory_has_a_json_for_every_eml() -> None:
    assert len(GOLDEN) >= 13
    missing = [p.name for p in GOLDEN if not p.with_suffix(".json").exists()]
    assert missing == []


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_message_matches_its_expectations(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    msg = parse(path.read_bytes())
    assert msg.subject == expected["subject"]
    assert _address(msg.sender) == expected["sender"]
    assert _address(msg.reply_to) == expected["reply_to"]
    assert [_address(a) for a in msg.to] == expected["to"]
    assert [_address(a) for a in msg.cc] == expected["cc"]
    assert msg.message_id == expected["message_id"]
    assert list(msg.in_reply_to) == expected["in_reply_to"]
    assert list(msg.references) == expected["references"]
    assert (msg.date.isoformat() if msg.date else None) == expected["date"]
    assert msg.text == expected["text"]
    if "html_contains" in expected:
        assert msg.html is not None and expected["html_contains"] in msg.html
    else:
        assert msg.html is expected["html"]
    assert [_attachment(a) for a in msg.attachments] == expected["attachments"]
    if "defects" in expected:
        assert list(msg.defects) == expected["defects"]
    for wanted in expected.get("defects_include", []):
        assert any(wanted in d for d in msg.defects), (wanted, msg.defects)


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_crlf_line_endings_give_the_same_message(path: Path) -> None:
    raw = path.read_bytes()
    lf, crlf = parse(raw), parse(raw.replace(b"\n", b"\r\n"))
    assert crlf.subject == lf.subject
    assert crlf.sender == lf.sender
    assert crlf.text == lf.text
    # 8bit/7bit parts carry the line endings they were sent with; base64 ones are identical.
    assert [(a.filename, a.content_type, a.data.replace(b"\r\n", b"\n")) for a in crlf.attachments] == [
        (a.filename, a.content_type, a.data) for a in lf.attachments
    ]


# --------------------------------------------------------------------------- bodies


def test_plain_text_draft_keeps_body_and_decodes_encoded_subject() -> None:
    msg = load("plain_draft.eml")
    assert msg.subject == "Draft: Summer fête on the green"
    assert msg.sender == Address(name="Jane Doe", email="jane.doe@example.org")
    assert msg.date == datetime(2024, 6, 4, 8, 12, 30, tzinfo=UTC)
    assert msg.date.utcoffset() == timedelta(hours=1)
    assert "10:00–16:00. Café, tombola and the brass band 🎺." in msg.text
    assert msg.text.startswith("Hello SMAT,\n\nPlease post")
    assert msg.html is None and msg.attachments == ()


def test_reply_threading_ids_lose_their_angle_brackets() -> None:
    msg = load("plain_draft.eml")
    assert msg.message_id == "20240604081230.1234@mail.example.org"
    assert msg.in_reply_to == ("review-17@smat.info",)
    assert msg.references == ("draft-16@smat.info", "review-17@smat.info")


def test_html_only_mail_becomes_readable_text() -> None:
    msg = load("html_only_draft.eml")
    assert msg.text == (
        "From 1 July the park opens earlier:\n\n  * Mon–Fri 07:00\n  * Sat & Sun 08:00\n\nQuestions? Call the café."
    )
    assert "color: red" not in msg.text
    assert msg.html is not None and msg.html.startswith("<html><head><style>")


def test_alternative_prefers_plain_text_over_html() -> None:
    msg = load("inline_cid_image.eml")
    assert msg.text == "Recycling centre closed on Monday."
    assert msg.html is not None and "<b>Monday</b>" in msg.html


def test_blank_plain_alternative_falls_back_to_the_html() -> None:
    raw = simple_mail(
        'From: a@example.org\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="b"',
        b"--b\nContent-Type: text/plain\n\n   \n--b\nContent-Type: text/html\n\n<p>Only <i>here</i></p>\n--b--\n",
    )
    assert parse(raw).text == "Only here"


def test_multiple_inline_text_parts_are_joined_with_a_blank_line() -> None:
    raw = simple_mail(
        'From: a@example.org\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"',
        b"--b\nContent-Type: text/plain\n\nFirst half.\n"
        b"--b\nContent-Type: image/jpeg\nContent-Disposition: inline\n\nxx\n"
        b"--b\nContent-Type: text/plain; charset=utf-8\n\nSecond half.\n--b--\n",
    )
    msg = parse(raw)
    assert msg.text == "First half.\n\nSecond half."
    assert [(a.filename, a.inline) for a in msg.attachments] == [("attachment-1.jpg", True)]


def test_nul_characters_are_removed_from_text_and_headers() -> None:
    msg = parse(simple_mail("From: a@example.org\nSubject: a\x00b", b"one\x00two\n"))
    assert msg.text == "onetwo"
    assert msg.subject == "ab"


# --------------------------------------------------------------------------- attachments


def test_two_jpeg_photos_become_image_attachments() -> None:
    msg = load("two_photos.eml")
    assert msg.text == "Two photos from the Thursday market for Friday's post."
    names = [a.filename for a in msg.attachments]
    assert names == ["market-stall.jpg", "attachment-2.jpg"]
    assert [sha(a.data) for a in msg.attachments] == [JPEG_A, JPEG_B]
    for att in msg.attachments:
        assert att.is_image and att.content_type == "image/jpeg"
        assert att.data.startswith(b"\xff\xd8\xff\xe0") and att.data.endswith(b"\xff\xd9")
        assert att.origin == "part" and att.inline is False


def test_inline_cid_image_is_marked_inline_with_its_content_id() -> None:
    msg = load("inline_cid_image.eml")
    (logo,) = msg.attachments
    assert logo.inline is True
    assert logo.content_id == "logo.part1@example.org"
    assert logo.filename == "attachment-1.jpg"
    assert sha(logo.data) == JPEG_A


def test_path_traversal_filename_is_reduced_to_its_basename() -> None:
    names = [a.filename for a in load("traversal_filename.eml").attachments]
    assert names[0] == "passwd"
    assert names[2] == "flyer.pdf"  # was C:\Users\jane\Desktop\flyer.pdf
    assert not any("/" in n or "\\" in n or ".." in n or ":" in n for n in names)


def test_rfc2231_and_encoded_word_filenames_are_decoded() -> None:
    names = [a.filename for a in load("traversal_filename.eml").attachments]
    assert names[1] == "Gemüse vom Markt.jpg"
    assert names[3] == "Prüfung.txt"  # the encoded CR LF inside it is gone


@pytest.mark.parametrize(
    ("given", "cleaned"),
    [
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("/etc/../..", "attachment-1.bin"),
        ("photo\u202egpj.exe", "photogpj.exe"),
        ("  .hidden.jpg ", "hidden.jpg"),
        ("a" * 300 + ".jpeg", "a" * 195 + ".jpeg"),
    ],
)
def test_filenames_are_cleaned_for_display(given: str, cleaned: str) -> None:
    encoded = base64.b64encode(given.encode("utf-8")).decode("ascii")
    raw = simple_mail(
        "From: a@example.org\nSubject: x\nMIME-Version: 1.0\n"
        "Content-Type: application/octet-stream\n"
        f'Content-Disposition: attachment; filename="=?utf-8?b?{encoded}?="'
    )
    (att,) = parse(raw).attachments
    assert att.filename == cleaned
    assert len(att.filename) <= 200


def test_nameless_parts_get_a_generated_name_with_a_fitting_extension() -> None:
    raw = simple_mail(
        'From: a@example.org\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"',
        b"--b\nContent-Type: text/plain\n\nhi\n"
        b"--b\nContent-Type: image/png\n\nPNG\n"
        b"--b\nContent-Type: application/pdf\nContent-Disposition: attachment\n\n%PDF\n"
        b"--b\nContent-Type: text/calendar\n\nBEGIN:VCALENDAR\n--b--\n",
    )
    assert [a.filename for a in parse(raw).attachments] == [
        "attachment-1.png",
        "attachment-2.pdf",
        "attachment-3.ics",
    ]


# --------------------------------------------------------------------------- forwarded


def test_forwarded_message_text_is_appended_below_the_covering_note() -> None:
    msg = load("forwarded_with_photo.eml")
    assert msg.text == (
        "Could this go out next week? Resident's email below.\n\n"
        "---------- Forwarded message ----------\n"
        "From: Mary Resident <mary@example.com>\n"
        "Date: Thu, 06 Jun 2024 21:30:00 +0100\n"
        "Subject: Bench dedication\n\n"
        "The new bench in Mill Lane is dedicated to my father. Photo attached."
    )


def test_forwarded_message_keeps_its_photo_once_and_not_itself_again() -> None:
    # The photo is kept as a file; keeping the forwarded message as well would keep the photo twice
    # (the received message is kept whole by the store, so nothing is lost).
    (photo,) = load("forwarded_with_photo.eml").attachments
    assert (photo.filename, photo.origin, sha(photo.data)) == ("bench.jpg", "forwarded", JPEG_C)


def test_forwarded_message_without_files_is_kept_whole_as_a_file() -> None:
    raw = simple_mail(
        'From: a@example.org\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"',
        b"--b\nContent-Type: message/rfc822\n\nFrom: b@example.org\nSubject: Bench\n"
        b"Message-ID: <orig-1@example.org>\n\nold\n--b--\n",
    )
    (eml,) = parse(raw).attachments
    assert (eml.filename, eml.content_type, eml.origin) == ("Bench.eml", "message/rfc822", "part")
    assert parse(eml.data).message_id == "orig-1@example.org"


def test_forwarded_message_file_name_cannot_carry_a_path() -> None:
    raw = simple_mail(
        'From: a@example.org\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"',
        b"--b\nContent-Type: message/rfc822\n\nFrom: b@example.org\nSubject: ../../minutes 3/4\n\nold\n--b--\n",
    )
    (eml,) = parse(raw).attachments
    assert eml.filename == "__minutes 3_4.eml"  # "../../" -> "..__..__" -> ".." removed


def test_base64_encoded_forwarded_message_is_decoded_before_reading() -> None:
    inner = b"From: b@example.org\nSubject: inner one\n\nInner body.\n"
    raw = simple_mail(
        'From: a@example.org\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"',
        b"--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(inner)
        + b"--b--\n",
    )
    msg = parse(raw)
    assert "Subject: inner one\n\nInner body." in msg.text
    assert msg.attachments[0].filename == "inner one.eml"


# --------------------------------------------------------------------------- winmail.dat


def test_winmail_dat_is_unpacked_into_its_files() -> None:
    msg = parse(tnef_mail((TNEF_DIR / "two-files.tnef").read_bytes(), body="See the attached files."))
    assert msg.text == "See the attached files."
    assert [(a.filename, a.origin, len(a.data)) for a in msg.attachments] == [
        ("AUTHORS", "tnef", 244),
        ("README", "tnef", 893),
    ]
    assert all(a.content_type == "application/octet-stream" for a in msg.attachments)
    assert not any(a.filename == "winmail.dat" for a in msg.attachments)


def test_winmail_dat_body_is_the_text_when_the_mail_has_no_other() -> None:
    msg = parse(tnef_mail((TNEF_DIR / "unicode-mapi-attr.tnef").read_bytes()))
    assert msg.text == "\u200bhello world"
    assert msg.html is not None and msg.html.startswith("<html>")
    assert [(a.filename, a.origin, len(a.data)) for a in msg.attachments] == [("example.dat", "tnef", 1024)]


def test_mail_text_wins_over_the_winmail_dat_body() -> None:
    msg = parse(tnef_mail((TNEF_DIR / "unicode-mapi-attr.tnef").read_bytes(), body="Outer words."))
    assert msg.text == "Outer words."


def test_winmail_dat_rtf_only_body_is_decompressed_and_stripped() -> None:
    msg = parse(tnef_mail((TNEF_DIR / "rtf.tnef").read_bytes()))
    assert msg.text.startswith("aafgag'alga'kgk\n\nagka;kgag")
    assert "-- Greg\nGreg Allen\nSenior Engineer/QADirector Team\n" in msg.text
    assert "\\par" not in msg.text and "{" not in msg.text


def test_winmail_dat_detected_by_name_even_as_octet_stream() -> None:
    raw = tnef_mail((TNEF_DIR / "two-files.tnef").read_bytes(), content_type="application/octet-stream")
    assert [a.filename for a in parse(raw).attachments] == ["AUTHORS", "README"]


def test_broken_winmail_dat_is_kept_as_is_with_a_defect() -> None:
    msg = parse(tnef_mail(b"this is not TNEF at all", body="hi"))
    (att,) = msg.attachments
    assert (att.filename, att.content_type, att.data) == (
        "winmail.dat",
        "application/ms-tnef",
        b"this is not TNEF at all",
    )
    assert any("winmail.dat could not be unpacked" in d for d in msg.defects)


# --------------------------------------------------------------------------- charsets and headers


def test_unknown_charset_falls_back_to_utf8_with_a_defect() -> None:
    msg = load("wrong_charset.eml")
    assert msg.text == "Straßenfest am Sonntag – alle sind willkommen!"
    assert "text/plain: charset 'x-unknown' did not fit, decoded as utf-8" in msg.defects


def test_missing_charset_with_8bit_text_falls_back_to_cp1252() -> None:
    msg = load("missing_charset.eml")
    assert msg.text == "The café now serves “proper” tea – €10 a pot."
    assert any("decoded as cp1252" in d for d in msg.defects)


def test_utf7_charset_alias_is_honoured() -> None:
    assert load("utf7_charset.eml").text == "Parking now costs £2 per hour."


def test_encoded_newline_in_subject_stays_one_line() -> None:
    msg = load("encoded_newline_subject.eml")
    assert msg.subject == "hello Bcc: evil@example.com"
    assert msg.header_all("bcc") == ()
    assert [name for name, _ in msg.headers] == ["from", "to", "subject", "date", "message-id", "content-type"]
    for _, value in msg.headers:
        assert "\r" not in value and "\n" not in value


def test_raw_8bit_header_bytes_are_decoded_not_replaced() -> None:
    msg = parse(
        simple_mail("From: J\xfcrgen <j@example.org>\nSubject: Stra\xdfe", b"x\n")
        .replace("ü".encode(), b"\xfc")
        .replace("ß".encode(), b"\xdf")
    )
    assert msg.sender == Address(name="Jürgen", email="j@example.org")
    assert msg.subject == "Straße"
    assert "header subject: raw 8-bit bytes decoded as cp1252" in msg.defects
    utf8 = parse(simple_mail("From: a@example.org\nSubject: Grüße"))
    assert utf8.subject == "Grüße"


def test_header_lookup_is_case_insensitive_and_keeps_order() -> None:
    msg = load("plain_draft.eml")
    assert msg.header("SUBJECT") == "Draft: Summer fête on the green"
    assert msg.header("x-missing") is None
    assert msg.header_all("Received") == (
        "from mail.example.org (mail.example.org [192.0.2.10]) by mx.smat.info with ESMTPS id 4Xyz "
        "for <drafts@smat.info>; Tue, 04 Jun 2024 09:12:33 +0100",
    )
    assert msg.headers[0] == ("return-path", "<jane.doe@example.org>")


def test_date_without_a_zone_is_read_as_utc_and_a_bad_date_is_none() -> None:
    msg = parse(simple_mail("From: a@example.org\nDate: Mon, 10 Jun 2024 11:00:00 -0000"))
    assert msg.date == datetime(2024, 6, 10, 11, 0, tzinfo=UTC)
    assert msg.date.tzinfo is not None
    assert parse(simple_mail("From: a@example.org\nDate: someday")).date is None


def test_message_without_from_has_no_sender() -> None:
    msg = load("no_from.eml")
    assert msg.sender is None
    assert msg.text == "No sender header here."


def test_sender_without_a_domain_is_treated_as_missing() -> None:
    msg = parse(simple_mail("From: just-a-name\nReply-To: Desk <desk@example.org>"))
    assert msg.sender is None
    assert msg.reply_to == Address(name="Desk", email="desk@example.org")


def test_bounce_report_parses_with_its_text_and_the_returned_message() -> None:
    msg = load("bounce_report.eml")
    assert msg.sender == Address(name="Mail Delivery System", email="MAILER-DAEMON@mx.smat.info")
    assert msg.text.startswith("I'm sorry to have to inform you")
    assert "Subject: Re: Draft: parking\n\nYour draft was approved." in msg.text
    assert [a.content_type for a in msg.attachments] == ["message/delivery-status", "message/rfc822"]
    assert b"Final-Recipient: rfc822; nobody@example.invalid" in msg.attachments[0].data
    assert msg.header("auto-submitted") == "auto-replied"


def test_odd_structure_degrades_to_defects_instead_of_failing() -> None:
    msg = load("odd_structure.eml")
    assert msg.text == "Body of a multipart without a boundary."
    assert msg.date is None
    assert msg.message_id == "no-angle-brackets@example.org"
    assert msg.to == (Address(name="", email="drafts@smat.info"),)
    assert msg.header("x-raw-8bit") == "Grüße"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n  "], ids=["empty", "blank"])
def test_empty_input_raises_parse_error(raw: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        parse(raw)
    assert caught.value.reason == "The message is empty."
    assert str(caught.value) == caught.value.reason


@pytest.mark.parametrize(
    "raw",
    [b"just some words\nand more\n", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xd8\xff\xe0\x00\x10JFIF"],
    ids=["prose", "png", "jpeg"],
)
def test_bytes_without_a_header_block_raise_parse_error(raw: bytes) -> None:
    with pytest.raises(ParseError, match="no header block"):
        parse(raw)


def test_non_bytes_input_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        parse("From: a@example.org\n\nhi")  # type: ignore[arg-type]
    assert parse(bytearray(b"From: a@example.org\n\nhi")).text == "hi"


def test_unexpected_internal_failure_is_wrapped_in_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(mime, "walk", boom)
    with pytest.raises(ParseError) as caught:
        parse(b"From: a@example.org\n\nhi")
    assert caught.value.reason == "could not read the message: RuntimeError: kaboom"


def _with_parts(count: int, content_type: bytes) -> bytes:
    """A message whose first line is a multipart Content-Type, with count - 1 parts of `content_type` inside."""
    parts = b"".join(b"--b\r\n" + content_type + b"\r\n\r\nx\r\n" for _ in range(count - 1))
    return b"Content-Type: multipart/mixed; boundary=b\r\nFrom: a@example.org\r\n\r\n" + parts + b"--b--\r\n"


@pytest.mark.parametrize(
    ("limit", "content_type"),
    [
        (reader.MAX_PARTS, b"CONTENT-type: text/plain"),
        (reader.MAX_CONTAINERS, b"content-Type:\r\n multipart/alternative; boundary=c"),
        (reader.MAX_CONTAINERS, b"Content-Type: Message/RFC822"),
    ],
    ids=["parts", "folded-multiparts", "forwards"],
)
def test_a_message_is_read_up_to_the_part_limits_counting_its_first_line_and_any_case(
    limit: int, content_type: bytes
) -> None:
    assert parse(_with_parts(limit, content_type)).sender.email == "a@example.org"
    with pytest.raises(ParseError, match="far beyond what any mail program sends"):
        parse(_with_parts(limit + 1, content_type))


CPYTHON_MESSAGES = cpython_corpus()


@pytest.mark.parametrize("raw", [raw for _, raw in CPYTHON_MESSAGES], ids=[name for name, _ in CPYTHON_MESSAGES])
def test_every_cpython_email_test_message_parses_or_raises_parse_error(raw: bytes) -> None:
    try:
        msg = parse(raw)
    except ParseError as exc:
        assert exc.reason
        return
    assert isinstance(msg, InboundMessage)
    assert isinstance(msg.text, str) and isinstance(msg.subject, str)
    assert "\n" not in msg.subject
    for att in msg.attachments:
        assert att.filename and len(att.filename) <= 200 and "/" not in att.filename


def test_cpython_headerless_digest_is_the_one_parse_error() -> None:
    failed = []
    for name, raw in CPYTHON_MESSAGES:
        try:
            parse(raw)
        except ParseError:
            failed.append(name)
    assert failed == ["msg_19.txt"]


def test_mutated_messages_only_ever_raise_parse_error() -> None:
    seeds = [p.read_bytes() for p in GOLDEN] + [tnef_mail((TNEF_DIR / "two-files.tnef").read_bytes())]
    snippets = [
        b"\n",
        b"--",
        b"=?",
        b"?=",
        b":",
        b"\r\n\r\n",
        b"<",
        b'"',
        b"\\",
        b"boundary=",
        b"charset=",
        b"*0*=",
        b"''",
        b"Content-Type: message/rfc822\n",
        b"multipart/",
        b"\x00",
        b"\xff",
    ]
    for raw in mutations(seeds, snippets, count=400, seed=20240604, max_edits=12):
        try:
            msg = parse(raw)
        except ParseError:
            continue
        assert "\n" not in msg.subject and "\r" not in msg.subject


def test_alternative_takes_only_the_first_plain_text_branch() -> None:
    raw = simple_mail(
        'From: a@example.org\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="b"',
        b"--b\nContent-Type: text/plain\n\nShort version.\n"
        b"--b\nContent-Type: text/plain; format=flowed\n\nSame thing, other rendering.\n"
        b"--b\nContent-Type: text/html\n\n<p>Short version.</p>\n--b--\n",
    )
    msg = parse(raw)
    assert msg.text == "Short version."
    assert msg.html == "<p>Short version.</p>"


def test_encoded_words_next_to_raw_8bit_text_are_both_decoded() -> None:
    raw = b"From: a@example.org\nSubject: Caf\xc3\xa9 =?utf-8?q?=E2=82=AC5?= \xe2\x80\x93 \xe6\x97\xa5\n\nx\n"
    assert parse(raw).subject == "Café €5 – 日"
