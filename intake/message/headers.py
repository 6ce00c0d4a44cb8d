"""Header decoding: every header as one clean line, addresses, message ids and the date.

Also home of `one_line`, the one header-safe sanitiser of the package: render.py uses it for every
header of our own mail, the parser for the subject and display names it hands on.
"""

from __future__ import annotations

import email.header
import functools
import re
from datetime import UTC, datetime
from email.headerregistry import AddressHeader, BaseHeader, HeaderRegistry
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from intake.message.model import Address
from intake.message.text import clean_text, decode_bytes, fix_surrogates, replace_surrogates

# C0 controls, DEL, the C1 controls (NEL, U+0085, among them) and the Unicode line and paragraph
# separators: anything a mail client or a log reader might take as the end of a line.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
LINE_LIMIT = 400
ADDRESS_HEADERS = ("from", "reply-to", "to", "cc")  # a tuple: defects come out in a stable order
_MSGID = re.compile(r"<([^<>]*)>")
ID_HEADERS = frozenset({"message-id", "in-reply-to", "references", "resent-message-id"})
HEADER_PARSE_LIMIT = 65_536  # characters of one header value given to the header registry's parser
THREAD_IDS = 100  # Message-IDs kept from References: the thread's first and the newest (RFC 5322 §3.6.4)
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_PRINTABLE = re.compile(r"[\x20-\x7e\t]*(?:\r?\n[ \t][\x20-\x7e\t]*)*")  # printable ASCII, folded lines

# A decoded address header kept for reading its mailboxes: the registry's header object (or None
# when the registry could not parse it) and the decoded text to fall back on.
ParsedHeader = tuple[object, str]


class QuickRegistry(HeaderRegistry):
    """The email package's header registry, making each header name's class once.

    The registry made a new class (a `type(...)` call) at every header read: about a twentieth of
    taking a draft in. The class depends only on the lowercased name; the most recent names are kept.
    """

    def __init__(self) -> None:
        super().__init__()
        self._class_for = functools.lru_cache(maxsize=256)(super().__getitem__)

    def __getitem__(self, name: str) -> type[BaseHeader]:
        return self._class_for(name.lower())

    def map_to_type(self, name: str, cls: type[BaseHeader]) -> None:
        """As the registry's own; the classes made so far are forgotten, so the new mapping is used."""
        super().map_to_type(name, cls)
        self._class_for.cache_clear()


def one_line(value: str, limit: int | None = LINE_LIMIT) -> str:
    """A header-safe single line: every control or line-break character and run of whitespace becomes one space.

    The defence against header injection: nothing a sender wrote (an encoded newline in a subject,
    say) can start a new header in our mail or a new line in a log.  `limit=None` keeps the whole
    value (the parser stores a received subject whole); lone surrogates become '?'.
    """
    line = " ".join(CONTROL.sub(" ", replace_surrogates(value)).split())
    return line if limit is None else line[:limit]


def flatten(value: str) -> str:
    """A received header value on one line: NULs dropped, each control run one space, inner spacing kept."""
    return CONTROL.sub(" ", clean_text(value)).strip()


def describe(defect: object) -> str:
    """A short description of an email-package defect."""
    detail = str(defect).strip()
    name = type(defect).__name__
    return f"{name}: {detail}"[:200] if detail and detail != name else name


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words by hand when the header parser gave up."""
    try:
        parts = email.header.decode_header(value)
        return "".join(
            chunk
            if isinstance(chunk, str)
            else chunk.decode("raw-unicode-escape")
            if charset is None
            else decode_bytes(chunk, charset)[0]
            for chunk, charset in parts
        )
    except Exception:
        return value


def read_headers(msg: Message, defects: list[str]) -> tuple[list[tuple[str, str]], dict[str, list[ParsedHeader]]]:
    """Decode every header in order; keep parsed address headers; a bad header becomes a defect."""
    headers: list[tuple[str, str]] = []
    parsed: dict[str, list[ParsedHeader]] = {}
    for raw_name, raw_value in msg.raw_items():
        name = clean_text(str(raw_name)).strip().lower()
        header_obj: object = None
        raw_text, fell_back = fix_surrogates(str(raw_value))
        if name in ID_HEADERS or len(raw_text) > HEADER_PARSE_LIMIT:
            # The header registry's parser takes time that grows with the square of a value's
            # length (300,000 Message-IDs in References: minutes); ids need no decoding at all.
            value, over = _bounded(_FOLD.sub("", raw_text), name)
            if over:
                defects.append(f"header {name}: {len(raw_text):,} characters long, only the first {over} read")
            headers.append((name, flatten(value)))
            if name in ADDRESS_HEADERS:
                parsed.setdefault(name, []).append((None, flatten(value)))
            continue
        if _plain(name, raw_text, msg):
            # An unstructured header in printable ASCII with no encoded word (Received, DKIM-Signature,
            # X-…): the registry's parse would return it as it is, at 0.1 ms a header.
            value = _FOLD.sub("", raw_text)
        elif fell_back:
            # Raw 8-bit bytes: the header registry would turn non-UTF-8 into U+FFFD; decode them here.
            defects.append(f"header {name}: raw 8-bit bytes decoded as {fell_back}")
            value = decode_words(_FOLD.sub("", raw_text))
        else:
            try:
                header_obj = msg.policy.header_fetch_parse(raw_name, raw_value)
                value = str(header_obj)
                for defect in getattr(header_obj, "defects", ()):
                    defects.append(f"header {name}: {describe(defect)}")
            except Exception as exc:
                defects.append(f"header {name}: could not be decoded ({type(exc).__name__}), kept raw")
                header_obj = None
                value = decode_words(_FOLD.sub("", raw_text))
        value = flatten(value)
        headers.append((name, value))
        if name in ADDRESS_HEADERS:
            parsed.setdefault(name, []).append((header_obj, value))
    return headers, parsed


def _plain(name: str, raw_text: str, msg: Message) -> bool:
    """True for a header the registry would not change: not one it parses by structure, printable ASCII, no `=?`."""
    structured = getattr(getattr(msg.policy, "header_factory", None), "registry", None)
    if structured is None or name in structured or "=?" in raw_text or not raw_text.isascii():
        return False
    return _PRINTABLE.fullmatch(raw_text) is not None


def _bounded(value: str, name: str) -> tuple[str, str]:
    """A long value cut to what is worth reading: ids whole (message_ids keeps the ends), the rest in part."""
    if name in ID_HEADERS:
        return value, ""
    if len(value) <= HEADER_PARSE_LIMIT:
        return decode_words(value), ""
    return decode_words(value[:HEADER_PARSE_LIMIT]), f"{HEADER_PARSE_LIMIT:,}"


def read_addresses(parsed: dict[str, list[ParsedHeader]], defects: list[str]) -> dict[str, list[Address]]:
    """The mailboxes of each address header (from, reply-to, to, cc), in order; unreadable ones become defects."""
    found: dict[str, list[Address]] = {}
    for name in ADDRESS_HEADERS:
        found[name] = []
        for header_obj, text in parsed.get(name, []):
            found[name].extend(_addresses(header_obj, text, name, defects))
    return found


def _addresses(header_obj: object, text: str, name: str, defects: list[str]) -> list[Address]:
    """Mailboxes in one address header, from the parsed header or, failing that, getaddresses."""
    try:
        pairs = _pairs(header_obj, text)
    except Exception:
        defects.append(f"header {name}: addresses could not be read")
        return []
    result = []
    for display, addr in pairs:
        display = one_line(clean_text(fix_surrogates(display)[0]), limit=None)
        addr = "".join(fix_surrogates(addr)[0].split())
        addr = CONTROL.sub("", addr)
        if "@" in addr.strip("@"):
            result.append(Address(name=display, email=addr))
        elif addr or display:
            defects.append(f"header {name}: {addr or display!r} is not an email address")
    return result


def _pairs(header_obj: object, text: str) -> list[tuple[str, str]]:
    """(display name, address) pairs: the header registry's reading if it has one, else getaddresses'."""
    if isinstance(header_obj, AddressHeader):
        try:
            return [(addr.display_name or "", addr.addr_spec or "") for addr in header_obj.addresses]
        except Exception:
            pass
    return getaddresses([text])


def message_id(value: str | None) -> str | None:
    """The message id without angle brackets, or None."""
    ids = message_ids(value)
    return ids[0] if ids else None


def message_ids(value: str | None) -> tuple[str, ...]:
    """All message ids in a header value, without angle brackets, de-duplicated in order."""
    if not value:
        return ()
    found = _MSGID.findall(value) or value.replace(",", " ").split()
    if len(found) > THREAD_IDS:  # a thread's root and its newest messages are what threading needs
        found = [found[0], *found[-(THREAD_IDS - 1) :]]
    ids = ("".join(item.split()).strip("<>") for item in found)
    return tuple(dict.fromkeys(item for item in ids if item))


def read_date(value: str, defects: list[str]) -> datetime | None:
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
