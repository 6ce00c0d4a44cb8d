"""Our outgoing MIME written directly as bytes: the same structure the email package builds, at a fraction of the cost.

Composing through `email.message.EmailMessage` parsed every header we set and again when
writing (about 30 ms a message on the test machine, half of taking in a text draft). Our mail
has one fixed shape, so it is written here: header values are already one line
(`headers.one_line`); ASCII ones are folded at spaces, others RFC 2047-encoded; text bodies
are 7bit when they can be, quoted-printable otherwise; each file's part is left empty and its
offset returned, for its base64 to be spliced in when sent (`intake.assembly`).
"""

from __future__ import annotations

import binascii
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header
from email.utils import encode_rfc2231, formataddr

CRLF = "\r\n"


def boundary() -> str:
    """A boundary from `secrets`: "=_" occurs in no base64 or quoted-printable text, 128 random bits in no other."""
    return f"=_{secrets.token_hex(16)}"


def _fold(name: str, value: str) -> str:
    """An ASCII header line folded at spaces to 78 characters where it can be."""
    line = f"{name}: "
    out: list[str] = []
    for word in value.split(" "):
        if len(line) + len(word) > 78 and line.strip() and not line.endswith(": "):
            out.append(line.rstrip(" "))
            line = " "
        line += word + " "
    out.append(line.rstrip(" "))
    return CRLF.join(out)


def header(name: str, value: str) -> str:
    """One header line (folded), RFC 2047-encoded if the value is not ASCII."""
    if value.isascii():
        return _fold(name, value)
    return f"{name}: " + Header(value, "utf-8", header_name=name).encode(linesep=CRLF)


def address(name: str, email: str) -> str:
    """An address header value: the display name quoted or encoded as needed."""
    return formataddr((name, email), charset="utf-8") if name else email


def ascii_id(value: str) -> str:
    """A message id or list of them as a header may carry it: ASCII only (anything else is not an id)."""
    return value.encode("ascii", "ignore").decode("ascii")


def _text(subtype: str, text: str) -> str:
    """A text part: 7bit when ASCII in short lines, else quoted-printable UTF-8; CRLF line ends."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    if lines.isascii() and all(len(line) <= 998 for line in lines.split("\n")):
        cte, body = "7bit", lines
    else:
        cte = "quoted-printable"
        body = binascii.b2a_qp(lines.encode("utf-8"), istext=True).decode("ascii")
    if not body.endswith("\n"):
        body += "\n"
    head = f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}Content-Transfer-Encoding: {cte}{CRLF}'
    return head + CRLF + body.replace("\n", CRLF)


def _filename_param(filename: str) -> str:
    """filename="…" when plain ASCII, else RFC 2231 (filename*=utf-8''…)."""
    if filename.isascii() and not (set(filename) & {'"', "\\"}) and all(c.isprintable() for c in filename):
        return f'filename="{filename}"'
    return f"filename*={encode_rfc2231(filename, 'utf-8')}"


def _token(value: str) -> str:
    """What may stand in a MIME type: letters, digits and . + - _ only."""
    return "".join(c for c in value if c.isascii() and (c.isalnum() or c in ".+-_"))


@dataclass(frozen=True)
class FilePart:
    """A file our mail carries: its name, its type, its bytes' SHA-256 (the bytes are spliced in later), and the
    Content-ID by which the HTML shows it (a thumbnail of an attached picture, or an inline chart)."""

    filename: str
    content_type: str
    sha256: str
    content_id: str = ""


def _file(boundary_: str, part: FilePart, disposition: str) -> str:
    """A file part's headers, up to where its base64 goes."""
    maintype, _, subtype = (_token(t) for t in part.content_type.partition("/"))
    kind = f"{maintype or 'application'}/{subtype or 'octet-stream'}"
    cid = f"Content-ID: <{ascii_id(part.content_id)}>{CRLF}" if part.content_id else ""
    return (
        f"--{boundary_}{CRLF}Content-Type: {kind}{CRLF}Content-Transfer-Encoding: base64{CRLF}"
        f"Content-Disposition: {disposition}; {_filename_param(part.filename)}{CRLF}{cid}{CRLF}"
    )


def message(
    headers: Sequence[tuple[str, str]],
    text: str,
    html: str,
    files: Sequence[FilePart],
    inline: Sequence[FilePart] = (),
) -> tuple[bytes, list[tuple[int, str]]]:
    """The message without its files' bodies, and (offset, sha256) of where each body goes.

    Shape: multipart/alternative (text, HTML), the HTML inside multipart/related with the `inline`
    pictures when there are any, all inside multipart/mixed with the attached `files`.
    """
    pieces: list[str | FilePart] = []  # a FilePart stands where its base64 (ending CRLF) is spliced in
    head = CRLF.join(header(name, value) for name, value in headers) + CRLF + "MIME-Version: 1.0" + CRLF
    alternative = boundary()
    alternative_type = f'Content-Type: multipart/alternative; boundary="{alternative}"{CRLF}'
    mixed = boundary() if files else ""
    if files:
        pieces.append(head + f'Content-Type: multipart/mixed; boundary="{mixed}"{CRLF}{CRLF}')
        pieces.append(f"--{mixed}{CRLF}{alternative_type}{CRLF}")
    else:
        pieces.append(head + alternative_type + CRLF)
    pieces.append(f"--{alternative}{CRLF}{_text('plain', text)}{CRLF}--{alternative}{CRLF}")
    if inline:
        related = boundary()
        pieces.append(f'Content-Type: multipart/related; boundary="{related}"{CRLF}{CRLF}')
        pieces.append(f"--{related}{CRLF}{_text('html', html)}{CRLF}")
        for part in inline:
            pieces += [_file(related, part, "inline"), part, CRLF]
        pieces.append(f"--{related}--{CRLF}{CRLF}")
    else:
        pieces.append(f"{_text('html', html)}{CRLF}")
    pieces.append(f"--{alternative}--{CRLF}")
    if files:
        pieces.append(CRLF)
        for part in files:
            pieces += [_file(mixed, part, "attachment"), part, CRLF]
        pieces.append(f"--{mixed}--{CRLF}")
    out: list[str] = []
    offsets: list[tuple[int, str]] = []
    written = 0
    for piece in pieces:
        if isinstance(piece, FilePart):
            offsets.append((written, piece.sha256))
        else:
            out.append(piece)
            written += len(piece)
    return "".join(out).encode("ascii"), offsets
