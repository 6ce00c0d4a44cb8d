"""The message package's shared pieces: the one header sanitiser, the one extension chooser, and its boundary.

The tables live beside the golden messages, in tests/messages/tables/, one case a row.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import intake.message
from intake import render
from intake.message import extension_for, one_line, parse
from intake.message.filenames import content_type_for, display_name

TABLES = Path(__file__).parent / "messages" / "tables"
PACKAGE = Path(intake.message.__file__).parent
ONE_LINE = json.loads((TABLES / "one_line.json").read_text(encoding="utf-8"))["cases"]
EXTENSIONS = json.loads((TABLES / "extensions.json").read_text(encoding="utf-8"))["cases"]
# C0 controls, DEL, C1 controls (NEL among them), LINE SEPARATOR, PARAGRAPH SEPARATOR.
CONTROL_SET = frozenset([*range(0x00, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029])


# --------------------------------------------------------------------------- one_line


@pytest.mark.parametrize(("label", "value", "expected"), ONE_LINE, ids=[case[0] for case in ONE_LINE])
def test_one_line_golden_table(label: str, value: str, expected: str) -> None:
    assert one_line(value) == expected


def test_one_line_turns_exactly_the_control_set_and_whitespace_into_one_space() -> None:
    for point in range(0x3100):
        char = chr(point)
        if 0xD800 <= point <= 0xDFFF:
            continue
        expected = "a b" if point in CONTROL_SET or char.isspace() else f"a{char}{char}b"
        assert one_line(f"a{char}{char}b") == expected, hex(point)


def test_one_line_cuts_at_400_by_default_at_a_given_limit_or_not_at_all() -> None:
    long = "x" * 500
    assert one_line(long) == "x" * 400
    assert one_line(long, 78) == "x" * 78
    assert one_line(long, limit=None) == long


def test_render_uses_the_one_sanitiser_of_the_message_package() -> None:
    assert render.one_line is one_line


def test_parsed_subject_and_display_name_are_one_line_whatever_the_encoded_words_hold() -> None:
    raw = (
        b'From: "=?utf-8?q?Jane=0D=0ABcc:_x?=" <jane@example.org>\n'
        b"Subject: =?utf-8?q?Hi=E2=80=A8Bcc:_evil=C2=85there=C2=9Bend?=\n\nbody\n"
    )
    msg = parse(raw)
    assert msg.subject == "Hi Bcc: evil there end"
    assert msg.sender is not None and msg.sender.name == "Jane Bcc: x"


def test_parsed_subject_is_kept_whole_beyond_the_header_limit() -> None:
    subject = "word " * 120
    assert parse(f"From: a@example.org\nSubject: {subject}\n\nx\n".encode()).subject == subject.strip()


# --------------------------------------------------------------------------- extension_for


@pytest.mark.parametrize(
    ("content_type", "filename", "expected"), EXTENSIONS, ids=[f"{c[0] or 'empty'}|{c[1]}" for c in EXTENSIONS]
)
def test_extension_for_golden_table(content_type: str, filename: str, expected: str) -> None:
    assert extension_for(content_type, filename) == expected


def test_a_nameless_attachment_is_numbered_with_the_chosen_extension() -> None:
    assert display_name("", "image/jpeg", 3) == "attachment-3.jpg"
    assert display_name("", "application/x-made-up", 1) == "attachment-1.bin"
    assert display_name("  ", "text/calendar", 2) == "attachment-2.ics"
    assert display_name("..\\..\\Windows\\evil.exe", "application/octet-stream", 1) == "evil.exe"


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("report.pdf", "application/pdf"),
        ("PHOTO.JPG", "image/jpeg"),
        ("noext", "application/octet-stream"),
        ("", "application/octet-stream"),
    ],
)
def test_content_type_for_a_winmail_member_comes_from_its_name(filename: str, expected: str) -> None:
    assert content_type_for(filename) == expected


# --------------------------------------------------------------------------- the boundary

_NOT_IN_CORE = {
    "sqlalchemy",
    "socket",
    "ssl",
    "smtplib",
    "imaplib",
    "aiosmtpd",
    "imap_tools",
    "apscheduler",
    "subprocess",
    "shutil",
    "tempfile",
    "os",
    "pathlib",
    "io",
}


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_the_message_package_is_core_no_database_socket_or_file_code(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "open", f"{path.name}:{node.lineno} opens a file"
        for name in names:
            assert name.split(".")[0] not in _NOT_IN_CORE, f"{path.name} imports {name}"
            if name.split(".")[0] == "intake":
                assert name.startswith("intake.message"), f"{path.name} imports {name} from outside the package"


def test_no_message_module_is_over_400_lines() -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.glob("*.py")}
    assert max(sizes.values()) <= 400, sizes


# --------------------------------------------------------------------------- the header registry


def test_the_parser_makes_each_header_names_class_once_and_reads_headers_as_the_email_package_does() -> None:
    from email import message_from_bytes
    from email import policy as email_policy
    from email.headerregistry import AddressHeader, UnstructuredHeader

    from intake.message import mime
    from intake.message.headers import QuickRegistry

    registry = mime.POLICY.header_factory
    assert registry["Subject"] is registry["subject"] is registry["SUBJECT"]
    assert registry["X-Anything"] is registry["x-anything"]
    mapped = QuickRegistry()
    assert issubclass(mapped["X-Mapped"], UnstructuredHeader)
    mapped.map_to_type("x-mapped", AddressHeader)  # a mapping made later is used, not a remembered class
    assert issubclass(mapped["X-Mapped"], AddressHeader)
    raw = (
        b"From: =?utf-8?q?Ren=C3=A9e?= <renee@example.org>\r\nTo: smat.info@example.org, Sam <sam@example.org>\r\n"
        b"Subject: =?utf-8?b?Q2Fmw6kgbm90aWNl?=\r\nDate: Mon, 30 Nov 2026 09:00:00 +0000\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n"
    )
    ours, theirs = message_from_bytes(raw, policy=mime.POLICY), message_from_bytes(raw, policy=email_policy.default)
    for name in ("from", "to", "subject", "date", "content-type"):
        assert str(ours[name]) == str(theirs[name]) and type(ours[name]).__mro__[1:] == type(theirs[name]).__mro__[1:]
