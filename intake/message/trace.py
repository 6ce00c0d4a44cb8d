"""A message's bytes without the headers servers add on the way (Received, Delivered-To, …).

The same message delivered twice (a mail server's retry, a restore of the mailbox, a second
copy dropped into the folder) may differ only in these trace headers; what is left is what
the sender wrote. Pure: bytes in, bytes out, no parsing beyond the header block.
"""

from __future__ import annotations

import re

# Added by servers in transit or at delivery, never by the sender.
TRACE_FIELDS = frozenset(
    {
        b"return-path",
        b"received",
        b"delivered-to",
        b"x-original-to",
        b"envelope-to",
        b"x-envelope-from",
        b"x-envelope-to",
        b"authentication-results",
        b"arc-seal",
        b"arc-message-signature",
        b"arc-authentication-results",
        b"received-spf",
        b"x-spam-status",
        b"x-spam-score",
        b"x-spam-flag",
        b"x-spam-level",
        b"x-spam-checker-version",
        b"x-virus-scanned",
        b"x-uid",
        b"status",
        b"x-status",
        b"x-keywords",
    }
)
_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")
_LINE = re.compile(rb"[^\n]*\n?")


def without_trace(raw: bytes) -> bytes:
    """The message with every trace header field (and its continuation lines) left out; the body untouched."""
    end = _END_OF_HEADERS.search(raw)
    head, body = (raw[: end.start()], raw[end.start() :]) if end else (raw, b"")
    kept: list[bytes] = []
    dropping = False
    for line in _LINE.findall(head):
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):  # a continuation belongs to the field above
            if not dropping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower()
        dropping = name in TRACE_FIELDS
        if not dropping:
            kept.append(line.rstrip(b"\r\n") + b"\n")
    return b"".join(kept) + body.replace(b"\r\n", b"\n")
