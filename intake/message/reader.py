"""The entry point: raw bytes to a finished InboundMessage, or a ParseError with one sentence."""

from __future__ import annotations

import email
import re
from dataclasses import replace

from intake.message import mime
from intake.message.filenames import display_name
from intake.message.model import InboundMessage, ParseError

MAX_CONTAINERS = 256  # multipart and message/rfc822 sections in one message (a forwarded chain of 100 has ~200)
MAX_PARTS = 1_000  # MIME parts (Content-Type headers) in one message
# Both are searched in the lowercased message after a newline: a literal start lets `re` skip ahead
# (six times as fast as `(?im)^...` over a message's base64, about 9 ms a megabyte before).
_PART = re.compile(rb"\ncontent-type:")
_CONTAINER = re.compile(rb"\ncontent-type:[ \t]*(?:\r?\n[ \t]+)?(?:multipart/|message/rfc822)")


def parse(raw: bytes) -> InboundMessage:
    """Read raw RFC 5322 bytes into an InboundMessage; raise ParseError only if nothing is usable."""
    if isinstance(raw, (bytearray, memoryview)):
        raw = bytes(raw)
    if not isinstance(raw, bytes):
        raise TypeError(f"parse() needs bytes, not {type(raw).__name__}")
    if not raw.strip():
        raise ParseError("The message is empty.")
    # The standard library's parser recurses once per level (1,000 levels: minutes, then a failure)
    # and parses each part's headers at length (10,000 parts: half a minute): count before parsing.
    if _too_many_parts(raw):
        raise ParseError(
            f"it has more than {MAX_PARTS} parts or {MAX_CONTAINERS} nested or multipart sections, far beyond "
            "what any mail program sends; it is kept as received but not taken apart"
        )
    try:
        msg = email.message_from_bytes(raw.lstrip(b"\r\n"), policy=mime.POLICY)
    except Exception as exc:  # the stdlib parser is lenient; this is a last resort
        raise ParseError(f"could not read the message: {type(exc).__name__}: {exc}") from exc
    if not msg.keys():
        raise ParseError("The bytes have no header block, so they are not an email message.")
    try:
        return _name_attachments(mime.read_message(msg, depth=0))
    except ParseError:
        raise
    except Exception as exc:
        raise ParseError(f"could not read the message: {type(exc).__name__}: {exc}") from exc


def _too_many_parts(raw: bytes) -> bool:
    """Over MAX_CONTAINERS multipart or message/rfc822 sections, or MAX_PARTS Content-Type headers."""
    lowered = raw.lower()  # ASCII only, as IGNORECASE is for a bytes pattern
    return _more_than(_CONTAINER, lowered, MAX_CONTAINERS) or _more_than(_PART, lowered, MAX_PARTS)


def _more_than(pattern: re.Pattern[bytes], text: bytes, limit: int) -> bool:
    """Whether the pattern (a newline, then a line's start) occurs over `limit` times, the first line included."""
    first = pattern.match(b"\n" + text[:1024]) is not None
    return first + sum(1 for _ in zip(pattern.finditer(text), range(limit + 1 - first), strict=False)) > limit


def _name_attachments(message: InboundMessage) -> InboundMessage:
    """Give every attachment its display name: the sender's, cleaned, or numbered message-wide."""
    named = tuple(
        replace(att, filename=display_name(att.filename, att.content_type, number))
        for number, att in enumerate(message.attachments, start=1)
    )
    return replace(message, attachments=named)
