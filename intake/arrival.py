"""What a source hands to the pipeline and what it gets back: plain values, no heavy imports.

The sources (IMAP, the SMTP/LMTP listener) import only this module from the orchestration
side, so an adapter never pulls in the parser, the templates or the database layer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Arrival:
    """One message as a source hands it over: the bytes, where from, and its key there."""

    raw: bytes
    source: str  # imap | smtp | lmtp | file
    source_key: str | None = None  # e.g. the IMAP UID; a second arrival with the same key is a duplicate
    envelope_recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What became of one message: for logs, tests and the SMTP reply."""

    message_db_id: int
    classification: str
    reason: str
    ref: str | None = None
    duplicate: bool = False
    mail_queued: int = 0
