"""What one MIME part says about itself (type, disposition, name, id, body), read without ever raising."""

from __future__ import annotations

from email import policy as email_policy
from email.message import Message

from intake.message.headers import decode_words
from intake.message.text import clean_text, decode_bytes, fix_surrogates, newlines

# Serialising sub-messages: keep the sender's header folding rather than refolding it.
_WRITE_POLICIES = (email_policy.default.clone(refold_source="none"), email_policy.compat32)


def content_type(part: Message) -> str:
    """Lower-case maintype/subtype; text/plain when the header is unusable."""
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def disposition(part: Message) -> str:
    """'attachment', 'inline' or '' from Content-Disposition."""
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        value = header_text(part, "content-disposition").lower()
        return "attachment" if value.startswith("attachment") else ""


def filename(part: Message, defects: list[str]) -> str:
    """The sender's file name decoded (RFC 2231 and RFC 2047), not yet cleaned; '' if none."""
    try:
        name: object = part.get_filename() or ""
    except Exception as exc:
        defects.append(f"file name could not be read ({type(exc).__name__})")
        return ""
    if isinstance(name, tuple):  # an RFC 2231 triple that was not collapsed
        name = name[2] if len(name) == 3 else ""
    text, _ = fix_surrogates(str(name))
    if "=?" in text:
        text = decode_words(text)
    return text


def content_id(part: Message) -> str | None:
    """The Content-ID without angle brackets or whitespace, or None."""
    value = "".join(header_text(part, "content-id").split()).strip("<>")
    return value or None


def header_text(part: Message, name: str) -> str:
    """First raw value of a header on a part as text, never raising."""
    try:
        for key, value in part.raw_items():
            if key.lower() == name:
                return fix_surrogates(str(value))[0]
    except Exception:
        pass
    return ""


def payload_bytes(part: Message) -> bytes:
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


def part_text(part: Message, ctype: str, defects: list[str]) -> str:
    """A text part decoded with its charset, falling back to utf-8 then cp1252."""
    try:
        charset = part.get_content_charset() or "us-ascii"
    except Exception:
        charset = "us-ascii"
    text, used = decode_bytes(payload_bytes(part), charset)
    if used != charset:
        defects.append(f"{ctype}: charset {charset!r} did not fit, decoded as {used}")
    return clean_text(newlines(text))


def as_bytes(msg: Message) -> bytes:
    """Serialise a (sub-)message back to bytes, keeping the original folding if possible."""
    for write_policy in _WRITE_POLICIES:
        try:
            return msg.as_bytes(policy=write_policy)
        except Exception:
            continue
    return b""
