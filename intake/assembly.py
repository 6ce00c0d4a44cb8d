"""Outgoing mail kept as a skeleton and the files it carries, put together when it is sent.

A message with files is written with an empty body in each file's part (intake.mimewrite); the
skeleton (every header and boundary, the text and HTML) is kept with, for each file, where its
body goes and the SHA-256 of the bytes. The files themselves are kept once each, by content, however
many people receive them. At delivery each file's base64 is spliced in at its place: the
bytes are those the email package would have written, so a resend is byte-for-byte the same
message. `EncodedParts` keeps recent encodings, so a photo sent to three reviewers is
base64-encoded once.
"""

from __future__ import annotations

import base64
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

PACKED = "zlib"  # how a kept skeleton is compressed ("" = as it is)


@dataclass(frozen=True)
class PartRef:
    """Where one file's encoded body goes in a skeleton, and which bytes (by SHA-256) it is."""

    offset: int
    sha256: str


def encode_part(data: bytes) -> bytes:
    """A file's body as the email package writes it for SMTP: base64 in 76-character lines, each ending CRLF."""
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def splice(skeleton: bytes, parts: Sequence[PartRef], encoded: Callable[[str], bytes]) -> bytes:
    """The complete message: each part's encoded body put at its offset in the skeleton."""
    if not parts:
        return skeleton
    pieces: list[bytes] = []
    start = 0
    for part in sorted(parts, key=lambda p: p.offset):
        pieces.append(skeleton[start : part.offset])
        pieces.append(encoded(part.sha256))
        start = part.offset
    pieces.append(skeleton[start:])
    return b"".join(pieces)


def pack(skeleton: bytes) -> bytes:
    """A skeleton compressed for keeping (mail text compresses to a third or less)."""
    return zlib.compress(skeleton, 6)


def unpack(kept: bytes, packing: str) -> bytes:
    """A kept skeleton as it was rendered."""
    return zlib.decompress(kept) if packing == PACKED else kept


def refs_to_json(parts: Iterable[PartRef]) -> list[list[int | str]]:
    """Part references as the outbox keeps them (a JSON list of [offset, sha256])."""
    return [[p.offset, p.sha256] for p in parts]


def refs_from_json(kept: Iterable[Sequence[int | str]] | None) -> tuple[PartRef, ...]:
    """Part references read back from the outbox."""
    return tuple(PartRef(int(offset), str(sha)) for offset, sha in kept or ())


class EncodedParts:
    """Recently encoded file bodies by SHA-256, within a byte budget, so each file is encoded once per draft."""

    def __init__(self, budget: int = 64 * 1024 * 1024) -> None:
        self.budget = budget
        self.used = 0
        self.encodings = 0  # how many times a body was actually encoded (the benchmark and tests read it)
        self._kept: OrderedDict[str, bytes] = OrderedDict()

    def get(self, sha256: str, load: Callable[[str], bytes]) -> bytes:
        """The encoded body of one file: from memory, else loaded by `load`, encoded and remembered."""
        found = self._kept.get(sha256)
        if found is not None:
            self._kept.move_to_end(sha256)
            return found
        encoded = encode_part(load(sha256))
        self.encodings += 1
        self._kept[sha256] = encoded
        self.used += len(encoded)
        while self.used > self.budget and len(self._kept) > 1:
            _, dropped = self._kept.popitem(last=False)
            self.used -= len(dropped)
        return encoded
