"""What the pipeline knows of one message as it goes: what was read before any transaction, how far
it got (so a failure is recorded where it belongs), and an error told in one line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from intake.errors import StorageRejected

if TYPE_CHECKING:
    from intake.files import ExaminedFile
    from intake.message import InboundMessage


@dataclass(frozen=True)
class ReadMessage:
    """A message as read before any transaction: parsed (or why not), and each of its files examined."""

    msg: InboundMessage | None
    problem: str = ""  # why it could not be parsed
    files: tuple[ExaminedFile, ...] = ()


@dataclass
class HowFar:
    """How far one message got, so that a failure can be recorded where it belongs."""

    digest: str  # the SHA-256 of the raw bytes: what the attempts are counted under
    msg: InboundMessage | None = None
    item_id: int | None = None  # the item the message was matched to as a reply (or automatic mail about it)


def describe(exc: Exception) -> str:
    """The error in one line; for a value the database refused, the driver's error itself."""
    if isinstance(exc, StorageRejected) and isinstance(exc.__cause__, Exception):
        exc = exc.__cause__
    return f"{type(exc).__name__}: {exc}"
