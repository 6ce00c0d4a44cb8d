"""Raw email bytes -> an InboundMessage value: headers, text, HTML and attachments, never a crash.

Pure: no network, no database, no files.  Everything a sender can put in a message degrades
to a recorded defect; only input with nothing to work with raises ParseError.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email
import email.header
import mimetypes
import quopri
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy as email_policy
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

import compressed_rtf
import inscriptis
from striprtf.striprtf import rtf_to_text
from tnefparse import TNEF

__all__ = ["Address", "Attachment", "InboundMessage", "ParseError", "parse"]

_POLICY = email_policy.default
# Serialising sub-messages: keep the sender's header folding rather than refolding it.
_WRITE_POLICIES = (email_policy.default.clone(refold_source="none"), email_policy.compat32)
_MAX_DEPTH = 40
_MAX_FILENAME = 200
_TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
_TNEF_MAGIC = b"\x78\x9f\x3e\x22"
_FORWARD_TYPES = frozenset({"message/rfc822", "message/global"})
_ADDRESS_HEADERS = ("from", "reply-to", "to", "cc")  # a tuple: defects come out in a stable order
# A private table so generated names do not depend on the host's /etc/mime.types.
_MIME = mimetypes.MimeTypes()
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "text/plain": ".txt",
    "text/calendar": ".ics",
    "message/rfc822": ".eml",
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
    "application/octet-stream": ".bin",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_MSGID = re.compile(r"<([^<>]*)>")
_BLANK_RUNS = re.compile(r"\n{3,}")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class ParseError(Exception):
    """The bytes could not be read as an email message at all; .reason is one sentence."""

    reason: str

    def __init__(self, reason: str) -> None:
        """Keep the one-sentence reason both as .reason and as the exception text."""
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Address:
    """One mailbox from an address header; compare with .email.lower()."""

    name: str
    email: str


@dataclass(frozen=True)
class Attachment:
    """One file carried by the message (a MIME part, a winmail.dat member, or from a forwarded mail)."""

    filename: str
    content_type: str
    data: bytes
    inline: bool
    content_id: str | None
    origin: str

    @property
    def is_image(self) -> bool:
        """Whether the part declares an image type, so it can be offered as a post photo."""
        return self.content_type.startswith("image/")


@dataclass(frozen=True)
class InboundMessage:
    """Everything the review desk needs from one received email, already decoded and cleaned."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    sender: Address | None
    reply_to: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    date: datetime | None
    text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    headers: tuple[tuple[str, str], ...]
    defects: tuple[str, ...]
    text_from_html: bool = False  # .text was converted from .html (the message had no plain-text body)

    def header(self, name: str) -> str | None:
        """First decoded value of a header, case-insensitive, for headers without a field here."""
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None

    def header_all(self, name: str) -> tuple[str, ...]:
        """All decoded values of a header in order, for repeated headers such as Received."""
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key == wanted)


# --------------------------------------------------------------------------- entry point


def parse(raw: bytes) -> InboundMessage:
    """Read raw RFC 5322 bytes into an InboundMessage; raise ParseError only if nothing is usable."""
    if isinstance(raw, (bytearray, memoryview)):
        raw = bytes(raw)
    if not isinstance(raw, bytes):
        raise TypeError(f"parse() needs bytes, not {type(raw).__name__}")
    if not raw.strip():
        raise ParseError("The message is empty.")
    try:
        msg = email.message_from_bytes(raw.lstrip(b"\r\n"), policy=_POLICY)
    except Exception as exc:  # the stdlib parser is lenient; this is a last resort
        raise ParseError(f"could not read the message: {type(exc).__name__}: {exc}") from exc
    if not msg.keys():
        raise ParseError("The bytes have no header block, so they are not an email message.")
    try:
        return _finish(_read_message(msg, depth=0))
    except ParseError:
        raise
    except Exception as exc:
        raise ParseError(f"could not read the message: {type(exc).__name__}: {exc}") from exc


# --------------------------------------------------------------------------- internal records


@dataclass
class _Att:
    """An attachment before its display name is finalised (names are numbered message-wide)."""

    filename: str
    content_type: str
    data: bytes
    disposition: str
    content_id: str | None
    origin: str
    inline: bool = False


@dataclass
class _Collector:
    """What one walk over a MIME tree found, before the body is chosen."""

    defects: list[str]
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[_Att] = field(default_factory=list)
    forwards: list[str] = field(default_factory=list)
    tnef_plain: list[str] = field(default_factory=list)
    tnef_html: list[str] = field(default_factory=list)
    tnef_rtf: list[str] = field(default_factory=list)


@dataclass
class _Result:
    """One message (top level or forwarded) read into plain values."""

    headers: list[tuple[str, str]]
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    sender: Address | None
    reply_to: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    date: datetime | None
    date_text: str
    text: str
    html: str | None
    attachments: list[_Att]
    defects: list[str]
    text_from_html: bool = False


# --------------------------------------------------------------------------- one message


def _read_message(msg: Message, depth: int) -> _Result:
    """Read one parsed message object (headers, then one walk over its MIME tree)."""
    defects: list[str] = []
    headers, parsed = _read_headers(msg, defects)

    def first(name: str) -> str | None:
        return next((value for key, value in headers if key == name), None)

    addresses: dict[str, list[Address]] = {}
    for name in _ADDRESS_HEADERS:
        found: list[Address] = []
        for header_obj, text in parsed.get(name, []):
            found.extend(_addresses(header_obj, text, name, defects))
        addresses[name] = found

    date_text = first("date") or ""
    col = _Collector(defects=defects)
    _walk(msg, col, depth)
    text, html, text_from_html = _choose_body(col)
    _mark_inline(col.attachments, html)

    return _Result(
        headers=headers,
        message_id=_message_id(first("message-id")),
        in_reply_to=_message_ids(first("in-reply-to")),
        references=_message_ids(first("references")),
        sender=(addresses["from"] or [None])[0],
        reply_to=(addresses["reply-to"] or [None])[0],
        to=tuple(addresses["to"]),
        cc=tuple(addresses["cc"]),
        subject=_one_line(first("subject") or ""),
        date=_date(date_text, defects),
        date_text=_one_line(date_text),
        text=text,
        html=html,
        attachments=col.attachments,
        defects=defects,
        text_from_html=text_from_html,
    )


def _finish(result: _Result) -> InboundMessage:
    """Freeze a result: clean and number attachment names, de-duplicate defects."""
    attachments = []
    for number, att in enumerate(result.attachments, start=1):
        name = _clean_filename(att.filename) or f"attachment-{number}{_extension(att.content_type)}"
        attachments.append(
            Attachment(
                filename=name,
                content_type=att.content_type,
                data=att.data,
                inline=att.inline,
                content_id=att.content_id,
                origin=att.origin,
            )
        )
    return InboundMessage(
        message_id=result.message_id,
        in_reply_to=result.in_reply_to,
        references=result.references,
        sender=result.sender,
        reply_to=result.reply_to,
        to=result.to,
        cc=result.cc,
        subject=result.subject,
        date=result.date,
        text=result.text,
        html=result.html,
        attachments=tuple(attachments),
        headers=tuple(result.headers),
        defects=tuple(dict.fromkeys(result.defects)),
        text_from_html=result.text_from_html,
    )


# --------------------------------------------------------------------------- headers


def _read_headers(msg: Message, defects: list[str]) -> tuple[list[tuple[str, str]], dict[str, list]]:
    """Decode every header in order; keep parsed address headers; a bad header becomes a defect."""
    headers: list[tuple[str, str]] = []
    parsed: dict[str, list] = {}
    for raw_name, raw_value in msg.raw_items():
        name = _clean_text(str(raw_name)).strip().lower()
        header_obj = None
        raw_text, fell_back = _fix_surrogates(str(raw_value))
        if fell_back:
            # Raw 8-bit bytes: the header registry would turn non-UTF-8 into U+FFFD; decode them here.
            defects.append(f"header {name}: raw 8-bit bytes decoded as {fell_back}")
            value = _decode_words(_FOLD.sub("", raw_text))
        else:
            try:
                header_obj = msg.policy.header_fetch_parse(raw_name, raw_value)
                value = str(header_obj)
                for defect in getattr(header_obj, "defects", ()):
                    defects.append(f"header {name}: {_describe(defect)}")
            except Exception as exc:
                defects.append(f"header {name}: could not be decoded ({type(exc).__name__}), kept raw")
                header_obj = None
                value = _decode_words(_FOLD.sub("", raw_text))
        value = _flatten(value)
        headers.append((name, value))
        if name in _ADDRESS_HEADERS:
            parsed.setdefault(name, []).append((header_obj, value))
    return headers, parsed


def _decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words by hand when the header parser gave up."""
    try:
        parts = email.header.decode_header(value)
        return "".join(
            chunk
            if isinstance(chunk, str)
            else chunk.decode("raw-unicode-escape")
            if charset is None
            else _decode_bytes(chunk, charset)[0]
            for chunk, charset in parts
        )
    except Exception:
        return value


def _addresses(header_obj: object, text: str, name: str, defects: list[str]) -> list[Address]:
    """Mailboxes in one address header, from the parsed header or, failing that, getaddresses."""
    pairs: list[tuple[str, str]] = []
    try:
        for addr in header_obj.addresses:  # type: ignore[union-attr]
            pairs.append((addr.display_name or "", addr.addr_spec or ""))
    except Exception:
        try:
            pairs = getaddresses([text])
        except Exception:
            defects.append(f"header {name}: addresses could not be read")
            return []
    result = []
    for display, addr in pairs:
        display = _one_line(_fix_surrogates(display)[0])
        addr = "".join(_fix_surrogates(addr)[0].split())
        addr = _CONTROL.sub("", addr)
        if "@" in addr.strip("@"):
            result.append(Address(name=display, email=addr))
        elif addr or display:
            defects.append(f"header {name}: {addr or display!r} is not an email address")
    return result


def _message_id(value: str | None) -> str | None:
    """The message id without angle brackets, or None."""
    ids = _message_ids(value)
    return ids[0] if ids else None


def _message_ids(value: str | None) -> tuple[str, ...]:
    """All message ids in a header value, without angle brackets, de-duplicated in order."""
    if not value:
        return ()
    found = _MSGID.findall(value) or value.replace(",", " ").split()
    ids = ("".join(item.split()).strip("<>") for item in found)
    return tuple(dict.fromkeys(item for item in ids if item))


def _date(value: str, defects: list[str]) -> datetime | None:
    """The Date header as an aware datetime (UTC when the zone is unknown), or None."""
    if not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:
        defects.append(f"header date: {value[:60]!r} is not a date")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


# --------------------------------------------------------------------------- MIME walk


def _walk(part: Message, col: _Collector, depth: int) -> None:
    """Visit one MIME part: recurse into containers, sort leaves into body text or attachments."""
    if depth > _MAX_DEPTH:
        col.defects.append("MIME tree nested too deeply; the rest was skipped")
        return
    ctype = _content_type(part)
    for defect in getattr(part, "defects", ()):
        col.defects.append(f"{ctype}: {_describe(defect)}")
    payload = part.get_payload()

    if ctype in _FORWARD_TYPES and isinstance(payload, list):
        _forwarded(part, payload, col, depth)
        return
    if isinstance(payload, list):
        if ctype.startswith("message/"):
            data = b"\n".join(_as_bytes(sub) for sub in payload if isinstance(sub, Message))
            col.attachments.append(_Att("", ctype, data, "attachment", _content_id(part), "part"))
            return
        if ctype == "multipart/alternative":
            _alternative(payload, col, depth)
            return
        for sub in payload:
            if isinstance(sub, Message):
                _walk(sub, col, depth + 1)
        return
    try:
        _leaf(part, ctype, col)
    except Exception as exc:
        col.defects.append(f"{ctype} part skipped: {type(exc).__name__}: {exc}"[:200])


def _alternative(payload: list, col: _Collector, depth: int) -> None:
    """multipart/alternative: take the first plain-text branch and the first HTML branch."""
    branches = []
    for sub in payload:
        if isinstance(sub, Message):
            branch = _Collector(defects=col.defects)
            _walk(sub, branch, depth + 1)
            branches.append(branch)
    plain = next((b.plain for b in branches if any(p.strip() for p in b.plain)), [])
    html = next((b.html for b in branches if b.html), [])
    col.plain.extend(plain)
    col.html.extend(html)
    for branch in branches:
        col.attachments.extend(branch.attachments)
        col.forwards.extend(branch.forwards)
        col.tnef_plain.extend(branch.tnef_plain)
        col.tnef_html.extend(branch.tnef_html)
        col.tnef_rtf.extend(branch.tnef_rtf)


def _leaf(part: Message, ctype: str, col: _Collector) -> None:
    """A non-container part: body text, winmail.dat, or an attachment."""
    disposition = _disposition(part)
    filename = _filename(part, col.defects)
    is_body = disposition != "attachment" and not filename
    if ctype.startswith("multipart/"):
        col.defects.append(f"{ctype} part without usable boundary read as plain text")
        ctype, is_body = "text/plain", True
    if is_body and ctype in ("text/plain", "text/html"):
        text = _part_text(part, ctype, col.defects)
        (col.plain if ctype == "text/plain" else col.html).append(text)
        return
    data = _payload_bytes(part)
    if (
        ctype in _TNEF_TYPES
        or filename.lower() == "winmail.dat"
        or (ctype == "application/octet-stream" and data.startswith(_TNEF_MAGIC))
    ):
        _tnef(data, filename, ctype, col)
        return
    col.attachments.append(_Att(filename, ctype, data, disposition, _content_id(part), "part"))


def _forwarded(part: Message, payload: list, col: _Collector, depth: int) -> None:
    """message/rfc822: read it recursively, append its text, keep it and its attachments."""
    inner = payload[0] if payload and isinstance(payload[0], Message) else None
    if inner is None:
        col.defects.append("message/rfc822 part is empty")
        return
    data = _as_bytes(inner)
    cte = _header_text(part, "content-transfer-encoding").strip().lower()
    if cte in ("base64", "quoted-printable"):
        # Non-conforming but seen: the parser read the encoded text as a message; decode and re-read.
        try:
            body = data.split(b"\n\n", 1)[-1] if inner.keys() else data
            data = base64.b64decode(body) if cte == "base64" else quopri.decodestring(body)
            inner = email.message_from_bytes(data, policy=_POLICY)
        except (binascii.Error, ValueError) as exc:
            col.defects.append(f"forwarded message with bad {cte} encoding: {exc}")
    result = _read_message(inner, depth + 1)
    col.defects.extend(f"forwarded: {d}" for d in result.defects)
    sender = result.sender
    sender_text = ""
    if sender is not None:
        sender_text = f"{sender.name} <{sender.email}>" if sender.name else sender.email
    block = (
        "\n\n---------- Forwarded message ----------\n"
        f"From: {sender_text}\nDate: {result.date_text}\nSubject: {result.subject}\n\n{result.text}"
    )
    col.forwards.append(block.rstrip())
    name = (result.subject or "forwarded").replace("/", "_").replace("\\", "_")
    col.attachments.append(_Att(f"{name}.eml", "message/rfc822", data, "attachment", None, "part"))
    for att in result.attachments:
        att.origin = "forwarded"
        col.attachments.append(att)


def _tnef(data: bytes, filename: str, ctype: str, col: _Collector) -> None:
    """Outlook winmail.dat: its files become attachments, its body a fallback text."""
    found = 0
    try:
        tnef = TNEF(data, do_checksum=False)
        for item in tnef.attachments:
            item_data = item.data if isinstance(item.data, bytes) else b""
            try:
                item_name = item.long_filename()
            except Exception:
                item_name = ""
            if isinstance(item_name, bytes):
                item_name = _decode_bytes(item_name, "utf-8")[0]
            item_name = str(item_name or "").strip("\x00")
            if not item_data and not item_name:
                continue
            guessed = _MIME.guess_type(item_name, strict=False)[0] if item_name else None
            col.attachments.append(
                _Att(item_name, (guessed or "application/octet-stream").lower(), item_data, "attachment", None, "tnef")
            )
            found += 1
        codepage = tnef.codepage or "cp1252"
        if tnef.body:
            col.tnef_plain.append(_as_text(tnef.body, codepage))
            found += 1
        if tnef.htmlbody:
            col.tnef_html.append(_as_text(tnef.htmlbody, codepage))
            found += 1
        # The raw compressed bytes: tnef.rtfbody decompresses only if compressed_rtf happens to be
        # importable (else silently returns them compressed) and repairs only one stripped NUL.
        rtf = tnef._rtfbody
        if rtf:
            try:
                col.tnef_rtf.append(_rtf_text(rtf))
                found += 1
            except Exception as exc:
                col.defects.append(f"winmail.dat RTF body could not be read ({type(exc).__name__}: {exc})"[:200])
    except Exception as exc:
        col.defects.append(f"winmail.dat could not be unpacked ({type(exc).__name__}: {exc}); kept as is"[:200])
    else:
        if found:
            return
        col.defects.append("winmail.dat held no files or body; kept as is")
    col.attachments.append(_Att(filename or "winmail.dat", ctype, data, "attachment", None, "part"))


# --------------------------------------------------------------------------- body choice


def _choose_body(col: _Collector) -> tuple[str, str | None, bool]:
    """Pick the text (plain, else HTML converted, else winmail.dat body), the HTML, and whether text came from it."""
    main = "\n\n".join(p.strip("\n") for p in col.plain if p.strip())
    html = "\n".join(col.html) if col.html else None
    from_html = False
    if not main.strip():
        if html is not None and html.strip():
            main = _html_to_text(html, col.defects)
            from_html = True
        elif any(t.strip() for t in col.tnef_plain):
            main = "\n\n".join(t.strip("\n") for t in col.tnef_plain if t.strip())
        elif col.tnef_html:
            main = _html_to_text("\n".join(col.tnef_html), col.defects)
            from_html = True
        elif col.tnef_rtf:
            main = "\n\n".join(col.tnef_rtf)
    if html is None and col.tnef_html:
        html = "\n".join(col.tnef_html)
    text = (main.rstrip() + "".join(col.forwards)).lstrip("\n")
    return text, html, from_html


def _mark_inline(attachments: list[_Att], html: str | None) -> None:
    """An image is inline when the HTML references its cid: or it is marked inline."""
    lowered = (html or "").lower()
    for att in attachments:
        if att.origin != "part" or not att.content_type.startswith("image/"):
            continue
        referenced = bool(att.content_id) and f"cid:{att.content_id.lower()}" in lowered
        att.inline = referenced or att.disposition == "inline"


def _html_to_text(html: str, defects: list[str]) -> str:
    """HTML to readable text with inscriptis; a crude tag strip if that fails."""
    try:
        text = inscriptis.get_text(html)
    except Exception as exc:
        defects.append(f"HTML could not be converted ({type(exc).__name__}); tags stripped instead")
        import html as html_module

        text = html_module.unescape(re.sub(r"<[^>]*>", " ", html))
    return _tidy(text)


def _tidy(text: str) -> str:
    """Trim trailing spaces on each line and collapse runs of blank lines to one."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")


# --------------------------------------------------------------------------- part helpers


def _content_type(part: Message) -> str:
    """Lower-case maintype/subtype; text/plain when the header is unusable."""
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def _disposition(part: Message) -> str:
    """'attachment', 'inline' or '' from Content-Disposition."""
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        value = _header_text(part, "content-disposition").lower()
        return "attachment" if value.startswith("attachment") else ""


def _filename(part: Message, defects: list[str]) -> str:
    """The sender's file name decoded (RFC 2231 and RFC 2047), not yet cleaned; '' if none."""
    try:
        name = part.get_filename() or ""
    except Exception as exc:
        defects.append(f"file name could not be read ({type(exc).__name__})")
        return ""
    if isinstance(name, tuple):  # an RFC 2231 triple that was not collapsed
        name = name[2] if len(name) == 3 else ""
    name, _ = _fix_surrogates(str(name))
    if "=?" in name:
        name = _decode_words(name)
    return name


def _content_id(part: Message) -> str | None:
    """The Content-ID without angle brackets or whitespace, or None."""
    value = "".join(_header_text(part, "content-id").split()).strip("<>")
    return value or None


def _header_text(part: Message, name: str) -> str:
    """First raw value of a header on a part as text, never raising."""
    try:
        for key, value in part.raw_items():
            if key.lower() == name:
                return _fix_surrogates(str(value))[0]
    except Exception:
        pass
    return ""


def _payload_bytes(part: Message) -> bytes:
    """The decoded body bytes of a leaf, tolerating bad transfer encodings."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


def _part_text(part: Message, ctype: str, defects: list[str]) -> str:
    """A text part decoded with its charset, falling back to utf-8 then cp1252."""
    try:
        charset = part.get_content_charset() or "us-ascii"
    except Exception:
        charset = "us-ascii"
    text, used = _decode_bytes(_payload_bytes(part), charset)
    if used != charset:
        defects.append(f"{ctype}: charset {charset!r} did not fit, decoded as {used}")
    return _clean_text(text.replace("\r\n", "\n").replace("\r", "\n"))


def _decode_bytes(data: bytes, charset: str) -> tuple[str, str]:
    """Decode with the declared charset, then utf-8, then cp1252 with replacement."""
    charset = (charset or "us-ascii").strip().strip('"').lower()
    for candidate in (charset, "utf-8"):
        try:
            codecs.lookup(candidate)
            return data.decode(candidate), candidate
        except Exception:
            continue
    return data.decode("cp1252", errors="replace"), "cp1252"


def _as_text(value: str | bytes, codepage: str) -> str:
    """A winmail.dat string property as clean text."""
    if isinstance(value, bytes):
        value = _decode_bytes(value, codepage)[0]
    return _clean_text(value.replace("\r\n", "\n").replace("\r", "\n"))


def _as_bytes(msg: Message) -> bytes:
    """Serialise a (sub-)message back to bytes, keeping the original folding if possible."""
    for write_policy in _WRITE_POLICIES:
        try:
            return msg.as_bytes(policy=write_policy)
        except Exception:
            continue
    return b""


def _describe(defect: object) -> str:
    """A short description of an email-package defect."""
    detail = str(defect).strip()
    name = type(defect).__name__
    return f"{name}: {detail}"[:200] if detail and detail != name else name


# --------------------------------------------------------------------------- text cleaning


def _fix_surrogates(value: str) -> tuple[str, str]:
    """Turn raw 8-bit bytes smuggled in as surrogates into text (utf-8, else cp1252)."""
    if not _ESCAPED_BYTE.search(value):
        return value, ""
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _clean_text(value: str) -> str:
    """Remove NUL characters (PostgreSQL text refuses them) and lone surrogates."""
    value = value.replace("\x00", "")
    if _SURROGATE.search(value):
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _flatten(value: str) -> str:
    """A header value on one line: every run of control characters becomes one space."""
    return _CONTROL.sub(" ", _clean_text(value)).strip()


def _one_line(value: str) -> str:
    """Control characters and newlines collapsed to single spaces, trimmed (header injection defence)."""
    return " ".join(_CONTROL.sub(" ", _clean_text(value)).split())


def _clean_filename(name: str) -> str:
    """A sender's file name made safe to display: basename only, no controls, at most 200 chars."""
    name = _clean_text(name).replace("\\", "/")
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    name = name.rsplit("/", 1)[-1]
    name = re.sub(r"^[A-Za-z]:", "", name)
    name = name.replace("..", "")
    name = " ".join(name.split()).strip(" .")
    if len(name) > _MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: _MAX_FILENAME - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:_MAX_FILENAME].rstrip(" .")
    return name


def _extension(content_type: str) -> str:
    """A file extension for a generated name, from a fixed table."""
    if content_type in _EXTENSIONS:
        return _EXTENSIONS[content_type]
    guessed = _MIME.guess_extension(content_type, strict=False)
    if guessed:
        return guessed
    return ".txt" if content_type.startswith(("text/", "message/")) else ".bin"


# --------------------------------------------------------------------------- RTF (winmail.dat)

_RTF_MAX_PAD = 256


def _rtf_text(compressed: bytes) -> str:
    """Outlook's compressed RTF body (MS-OXRTFCP) to plain text; the libraries raise on bad input."""
    # tnefparse strips trailing NUL bytes from binary properties, which can cut the end of the
    # stream off (its CRC then fails).  The header's first field counts the bytes after it, so
    # put the NULs back -- a few at most; a forged size is left for the CRC check to reject.
    declared = int.from_bytes(compressed[:4], "little") + 4
    if 0 < declared - len(compressed) <= _RTF_MAX_PAD:
        compressed = compressed.ljust(declared, b"\x00")
    rtf = compressed_rtf.decompress(compressed)
    # RTF is 7-bit text; stray 8-bit bytes are read as Outlook's usual cp1252.
    text = rtf_to_text(rtf.decode("cp1252", errors="replace"), errors="replace")
    return _tidy(_clean_text(text))
