"""The values a parse yields: an InboundMessage with its addresses and attachments, or a ParseError."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The headers RFC 5322 §3.6 allows at most once, lower-cased. A message repeating one is ambiguous:
# two readers (our subject-tag matcher, a DKIM verifier) may each read a different copy.
SINGLE_HEADERS = (
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
)


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
        """Whether the sender *declared* an image type: a claim, never used to decide (intake.pictures decides)."""
        return self.content_type.startswith("image/")


@dataclass(frozen=True)
class InboundMessage:
    """Everything the review desk needs from one received email, already decoded and cleaned.

    The one list of a message's fields: the parser fills it directly, for the top-level message
    and for each forwarded one.
    """

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

    @property
    def repeated_headers(self) -> tuple[str, ...]:
        """Lower-cased names of single-instance headers (SINGLE_HEADERS) that appear more than once."""
        names = [key for key, _ in self.headers]
        return tuple(name for name in SINGLE_HEADERS if names.count(name) > 1)
