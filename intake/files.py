"""What a message brings in: each file examined by its content, and what of it our mail may carry.

Pure: bytes and settings in, values out, so the pipeline can run it before it opens the write
transaction.  Every file goes through `intake.pictures.examine`, whatever the sender declared;
only a picture's prepared copy is ever attached to our mail, and only while the pictures of one
mail stay within the per-mail limit.  Everything else is listed: withheld with the reason, or
kept on the system.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from intake.pictures import Examined, PictureLimits, describe, examine


class FileIn(Protocol):
    """What the parser tells us about one file (`intake.message.Attachment` fits)."""

    @property
    def filename(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def data(self) -> bytes: ...


class StoredFile(Protocol):
    """A kept file as the listing reads it (`intake.store.models.Attachment` fits)."""

    @property
    def filename(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def attach(self) -> bool: ...
    @property
    def withheld(self) -> bool: ...
    @property
    def note(self) -> str: ...
    @property
    def prepared_name(self) -> str | None: ...


@dataclass(frozen=True)
class ExaminedFile:
    """One file with what its content proved it to be, the sentence reviewers read, and whether it goes on."""

    examined: Examined
    note: str
    attach: bool  # its prepared copy goes with our mail (a picture within the per-mail limit)


def examine_files(files: Sequence[FileIn], limits: PictureLimits, per_mail_bytes: int) -> tuple[ExaminedFile, ...]:
    """Examine every file by content, in order; pictures are numbered picture-1, picture-2, … as found."""
    result = []
    number, used = 1, 0
    for part in files:
        examined = examine(part.data, part.content_type, part.filename, limits, index=number)
        prepared = examined.prepared
        attach = False
        if prepared is not None:
            number += 1
            attach = used + len(prepared.data) <= per_mail_bytes
            used += len(prepared.data) if attach else 0
        result.append(ExaminedFile(examined, _note(examined, attach, per_mail_bytes), attach))
    return tuple(result)


def _note(examined: Examined, attach: bool, per_mail_bytes: int) -> str:
    """The sentence for the listing: a picture's describe(), why a file is withheld, or what it is."""
    if examined.prepared is None:
        return examined.reason[0].upper() + examined.reason[1:] + "." if examined.reason else ""
    sentence = describe(examined)
    if not attach:
        sentence += f" Kept, not attached: the pictures of one mail may not exceed {size_label(per_mail_bytes)}."
    return sentence


def listing(files: Sequence[StoredFile]) -> list[dict[str, object]]:
    """Every kept file as a review request lists it: attached as our copy, withheld with the reason, or kept."""
    return [
        {
            "filename": f.filename,
            "content_type": f.content_type,
            "size_label": size_label(f.size),
            "attached": f.attach,
            "sent_as": f.prepared_name or "",
            "withheld": f.withheld,
            "note": f.note,
        }
        for f in files
    ]


def size_label(size: int) -> str:
    """A byte count as people read it: 512 bytes, 40 KB, 2.5 MB."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
