"""The entry point: raw bytes to a finished InboundMessage, or a ParseError with one sentence."""

from __future__ import annotations

import email
from dataclasses import replace

from intake.message import mime
from intake.message.filenames import display_name
from intake.message.model import InboundMessage, ParseError


def parse(raw: bytes) -> InboundMessage:
    """Read raw RFC 5322 bytes into an InboundMessage; raise ParseError only if nothing is usable."""
    if isinstance(raw, (bytearray, memoryview)):
        raw = bytes(raw)
    if not isinstance(raw, bytes):
        raise TypeError(f"parse() needs bytes, not {type(raw).__name__}")
    if not raw.strip():
        raise ParseError("The message is empty.")
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


def _name_attachments(message: InboundMessage) -> InboundMessage:
    """Give every attachment its display name: the sender's, cleaned, or numbered message-wide."""
    named = tuple(
        replace(att, filename=display_name(att.filename, att.content_type, number))
        for number, att in enumerate(message.attachments, start=1)
    )
    return replace(message, attachments=named)
