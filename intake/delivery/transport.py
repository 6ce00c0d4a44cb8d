"""What a delivery transport promises: take one message, or say whether to try again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class TemporaryFailure(Exception):
    """The relay is down or said 4xx: keep the message and try again later."""


class PermanentFailure(Exception):
    """The relay said 5xx for the whole message: retrying will not help."""


class Transport(Protocol):
    """Sends raw bytes to recipients; returns the recipients refused one by one, with the reason."""

    def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> dict[str, str]: ...

    def close(self) -> None: ...
