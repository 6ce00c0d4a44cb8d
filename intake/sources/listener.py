"""The SMTP/LMTP listener (aiosmtpd): an MTA hands mail over directly.

The 250 goes back only after the raw message is committed; on any internal failure the
answer is 451, so the sending server keeps the message and tries again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from intake.arrival import Outcome
from intake.config import Listener

Ingest = Callable[[bytes, str, "str | None", Sequence[str]], Outcome]

MAX_MESSAGE_BYTES = 50 * 1024 * 1024


class IntakeHandler:
    """aiosmtpd handler: every accepted message goes through the one pipeline."""

    def __init__(self, ingest: Ingest, protocol: str, log: logging.Logger | None = None) -> None:
        self.ingest = ingest
        self.protocol = protocol
        self.log = log or logging.getLogger("intake.listener")

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or (envelope.content if isinstance(envelope.content, bytes) else b"")
        loop = asyncio.get_running_loop()
        try:
            # The database work is blocking; keep it off the event loop.
            # Keyed by content: a sender that retries after a lost 250 makes no second item.
            key = f"{self.protocol}:sha256:{hashlib.sha256(raw).hexdigest()}"
            outcome = await loop.run_in_executor(None, self.ingest, raw, self.protocol, key, list(envelope.rcpt_tos))
        except Exception as exc:  # noqa: BLE001 - the sender must retry, whatever went wrong here
            self.log.error(
                "could not take a message from %s: %s; answered 451 so it will be retried", session.peer, exc
            )
            status = "451 4.3.0 Temporary failure storing the message, please try again later"
        else:
            status = f"250 2.0.0 OK {outcome.ref or 'kept'}"
        if self.protocol == "lmtp":
            # LMTP answers once per recipient.
            return "\r\n".join([status] * max(len(envelope.rcpt_tos), 1))
        return status


class _LmtpController(Controller):
    def factory(self) -> LMTP:
        return LMTP(self.handler, **self.SMTP_kwargs)


def make_listener(settings: Listener, ingest: Ingest, log: logging.Logger | None = None) -> Controller:
    """A started-on-demand aiosmtpd controller for the configured host, port and protocol."""
    handler = IntakeHandler(ingest, settings.protocol, log)
    kwargs: dict[str, Any] = {"data_size_limit": MAX_MESSAGE_BYTES, "decode_data": False}
    cls = _LmtpController if settings.protocol == "lmtp" else Controller
    return cls(handler, hostname=settings.host, port=settings.port, ready_timeout=10, **kwargs)
