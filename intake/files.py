"""What a message brings in: each file examined by its content, and what of it our mail may carry.

Pure: bytes and settings in, values out, so the pipeline can run it before it opens the write
transaction.  Every file goes through `intake.pictures.examine`, whatever the sender declared;
our mail carries a picture's prepared copy or an ordinary document (`intake.documents`) as it
came, under our name, while the files of one mail stay within the per-mail limit.  A file over
the per-file limit, or any file of a message over the per-message limit, is not read at all.
Everything else is listed: withheld with the reason, or kept on the system.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from intake.documents import Document, document
from intake.pictures import Examined, PictureLimits, describe, examine

# What intake.pictures calls a file that may yet be an ordinary document (a PDF, an OOXML or
# OpenDocument ZIP, text); a claimed picture that is not one stays withheld whatever it is.
_MAYBE_DOCUMENT = frozenset({"PDF", "Office document", "ZIP archive", "unknown"})
_PICTURE_SUFFIXES = frozenset(".jpg .jpeg .jpe .png .gif .webp .heic .heif .svg .bmp .tif .tiff".split())


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
    @property
    def prepared(self) -> bool: ...


@dataclass(frozen=True)
class ExaminedFile:
    """One file with what its content proved it to be, the sentence reviewers read, and whether it goes on."""

    examined: Examined
    note: str
    attach: bool  # what we send of it goes with our mail: a picture's copy or a document, within the per-mail limit
    document: Document | None = None  # an ordinary document, sent as it came under `document.filename`
    over_limit: bool = False  # larger than a limit: not read, kept on the system, never sent on

    @property
    def sent_name(self) -> str | None:
        """The name our mail gives it: a picture's prepared name or a document's cleaned one; None if neither."""
        prepared = self.examined.prepared
        return prepared.filename if prepared else self.document.filename if self.document else None

    @property
    def sent_type(self) -> str | None:
        """The content type our mail gives it, chosen from its content; None if we never send it."""
        prepared = self.examined.prepared
        return prepared.content_type if prepared else self.document.content_type if self.document else None


@dataclass(frozen=True)
class SizeLimits:
    """[limits] as examining reads them: what one file and one message may be, and what one mail may carry."""

    per_mail_bytes: int  # what one mail we send may carry
    attachment_bytes: int | None = None  # a larger file is not read; None: no limit
    message_bytes: int | None = None  # a larger message's files are not read; None: no limit


def examine_files(
    files: Sequence[FileIn],
    limits: PictureLimits,
    per_mail_bytes: int,
    *,
    sizes: SizeLimits | None = None,
    message_size: int = 0,
) -> tuple[ExaminedFile, ...]:
    """Examine every file by content, in order; pictures are numbered picture-1, picture-2, … as found.

    A file over `sizes.attachment_bytes`, or every file of a message over `sizes.message_bytes`,
    is kept unread: no decoding, nothing sent on.
    """
    sizes = sizes or SizeLimits(per_mail_bytes)
    message_over = sizes.message_bytes is not None and message_size > sizes.message_bytes
    result = []
    number, used = 1, 0
    for count, part in enumerate(files, start=1):
        over = _over_limit(len(part.data), message_over, sizes)
        if over:
            result.append(ExaminedFile(Examined(False, "not read", over), _capital(over) + ".", False, over_limit=True))
            continue
        examined = examine(part.data, part.content_type, part.filename, limits, index=number)
        found = _document(part, examined, count)
        if found is not None:
            examined = Examined(False, found.format, f"it is {found.words}")
        size = len(examined.prepared.data) if examined.prepared else len(part.data) if found else 0
        attach = (examined.prepared is not None or found is not None) and used + size <= per_mail_bytes
        used += size if attach else 0
        number += 1 if examined.prepared is not None else 0
        result.append(ExaminedFile(examined, _note(examined, found, attach, per_mail_bytes), attach, found))
    return tuple(result)


def _over_limit(size: int, message_over: bool, sizes: SizeLimits) -> str:
    """Why a file is not read because of its size or its message's, in words; '' when it may be read."""
    if message_over and sizes.message_bytes is not None:
        most = limit_label(sizes.message_bytes)
        return f"kept on the system, not read or sent on: the message was larger than the limit of {most}"
    if sizes.attachment_bytes is not None and size > sizes.attachment_bytes:
        most = limit_label(sizes.attachment_bytes)
        return f"kept on the system, not read or sent on: it is larger than the limit of {most} for one file"
    return ""


def _document(part: FileIn, examined: Examined, number: int) -> Document | None:
    """The ordinary document a non-picture is, unless its sender claimed it was a picture (that stays withheld)."""
    if examined.prepared is not None or examined.format not in _MAYBE_DOCUMENT:
        return None
    suffix = "." + part.filename.rpartition(".")[2].lower() if "." in part.filename else ""
    if part.content_type.strip().lower().startswith("image/") or suffix in _PICTURE_SUFFIXES:
        return None
    if part.content_type.strip().lower().startswith("message/"):
        return None  # a mail passed on is kept and listed, not sent as text
    return document(part.data, part.filename, number)


def _note(examined: Examined, found: Document | None, attach: bool, per_mail_bytes: int) -> str:
    """The sentence for the listing: a picture's describe(), a document, why a file is withheld, or what it is."""
    most = size_label(per_mail_bytes)
    if found is not None:
        if attach:
            return f"{_capital(found.words)}, sent on as it came."
        return f"{_capital(found.words)}. Kept, not attached: the files of one mail may not exceed {most}."
    if examined.prepared is None:
        return _capital(examined.reason) + "." if examined.reason else ""
    return describe(examined) + (
        "" if attach else f" Kept, not attached: the pictures of one mail may not exceed {most}."
    )


def _capital(words: str) -> str:
    """The words as a sentence starts them."""
    return words[:1].upper() + words[1:]


def listing(files: Sequence[StoredFile]) -> list[dict[str, object]]:
    """Every kept file as a review request lists it: attached (our copy or the document), withheld, or kept."""
    return [
        {
            "filename": f.filename,
            "content_type": f.content_type,
            "size_label": size_label(f.size),
            "attached": f.attach,
            "sent_as": f.prepared_name or "",
            "withheld": f.withheld,
            "note": f.note,
            "document": f.attach and not f.prepared,  # sent as it came, not as a picture's copy
        }
        for f in files
    ]


def limit_label(size: int) -> str:
    """A configured limit as people read it: 25 MB for a whole number of megabytes, else as size_label."""
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 and size % (1024 * 1024) == 0 else size_label(size)


def size_label(size: int) -> str:
    """A byte count as people read it: 512 bytes, 40 KB, 2.5 MB."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


SIZE_RULE, SIZE_SECTION = "size-limit", "6.3"


def size_flags(files: Sequence[ExaminedFile], sizes: SizeLimits, message_size: int) -> list[dict[str, str]]:
    """The flag reviewers see on top when a message or a file of it was over a limit; [] when none was."""
    over = sum(1 for f in files if f.over_limit)
    files_words = f"{over} file{'' if over == 1 else 's'}"
    if sizes.message_bytes is not None and message_size > sizes.message_bytes:
        excerpt = f"This message was larger than the council's limit of {limit_label(sizes.message_bytes)}"
        verb = "is" if over == 1 else "are"
        excerpt += f"; its {files_words} {verb} kept on the system and not sent on." if over else "; it is kept whole."
    elif over and sizes.attachment_bytes is not None:
        most = limit_label(sizes.attachment_bytes)
        excerpt = (
            f"{files_words} larger than the council's limit of {most} for one file: kept on the system, not sent on."
        )
    else:
        return []
    return [{"rule": SIZE_RULE, "section": SIZE_SECTION, "severity": "warn", "excerpt": excerpt}]
