"""Ordinary documents, decided by content: a PDF, a macro-free Word/Excel/PowerPoint or OpenDocument
file, or plain text; these go on to reviewers as they are, under a name we choose.

Pure: bytes in, a value out.  A ZIP-based document is judged by its member list only, read
from the ZIP's central directory; no member is ever extracted or decompressed.  Anything
that can carry macros (vbaProject.bin, ActiveX, embedded OLE objects, OpenDocument Basic or
Scripts) is not a document here, so it stays withheld as `intake.pictures` decided.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from intake.message.filenames import clean_filename

MAX_MEMBERS = 10_000  # a real document has a few hundred; more is not read as one
# Member names that mean code can ride along (OOXML VBA and ActiveX, embedded OLE packages,
# OpenDocument Basic and scripts); lower-cased, matched anywhere in a member's path.
_MACRO_MARKS = ("vbaproject.bin", "vbadata.xml", "/activex/", "basic/", "scripts/", "/embeddings/oleobject")
# The main part that tells which kind of OOXML document it is.
_OOXML = (
    (
        "word/document.xml",
        ".docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "a Word document",
    ),
    (
        "xl/workbook.xml",
        ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "an Excel workbook",
    ),
    (
        "ppt/presentation.xml",
        ".pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "a PowerPoint presentation",
    ),
)
_ODF = {
    b"application/vnd.oasis.opendocument.text": (".odt", "an OpenDocument text"),
    b"application/vnd.oasis.opendocument.spreadsheet": (".ods", "an OpenDocument spreadsheet"),
    b"application/vnd.oasis.opendocument.presentation": (".odp", "an OpenDocument presentation"),
}
# A text file the sender named as one of these is a script or program in plain text: never forwarded.
_CODE_SUFFIXES = frozenset(
    ".js .jse .vbs .vbe .wsf .wsh .hta .bat .cmd .ps1 .psm1 .sh .bash .py .pl .rb .php .lnk .reg .scr .exe .msi "
    ".com .jar .vb .cpl .inf .desktop .applescript .command".split()
)
_TEXT_CONTROLS = frozenset("\t\n\r\f")


@dataclass(frozen=True)
class Document:
    """An ordinary document: what it is in words, the type and name it is sent under."""

    format: str  # 'PDF', 'Word document', 'OpenDocument text', 'plain text', ...
    words: str  # 'a PDF document', for the listing
    content_type: str
    filename: str  # the sender's base name cleaned, with the extension of what the content is


def document(data: bytes, filename: str, number: int) -> Document | None:
    """The document `data` is by content, named after the sender's cleaned name; None if it is not one."""
    found = _kind(data, filename)
    if found is None:
        return None
    fmt, words, content_type, suffix = found
    stem = clean_filename(filename)
    stem = stem.rpartition(".")[0] if "." in stem.lstrip(".") else stem
    stem = stem.strip(" .")[:150] or f"document-{number}"
    return Document(fmt, words, content_type, stem + suffix)


def _kind(data: bytes, filename: str) -> tuple[str, str, str, str] | None:
    """(format, words, content type, extension) of an ordinary document, or None."""
    if data.startswith(b"%PDF-"):
        return "PDF", "a PDF document", "application/pdf", ".pdf"
    if data.startswith(b"PK\x03\x04"):
        return _zipped(data)
    return _text(data, filename)


def _zipped(data: bytes) -> tuple[str, str, str, str] | None:
    """A macro-free OOXML or OpenDocument file, judged by its member list alone; None otherwise."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()  # the central directory: names only, nothing decompressed
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None
    if not infos or len(infos) > MAX_MEMBERS:
        return None
    names = [info.filename.replace("\\", "/").lower() for info in infos]
    if any(info.flag_bits & 0x1 for info in infos):  # encrypted members: cannot be judged
        return None
    if any(mark in "/" + name for name in names for mark in _MACRO_MARKS):
        return None
    odf = _odf_mimetype(data, names)
    if odf is not None:
        suffix, words = _ODF[odf]
        return words.removeprefix("an ").removeprefix("a "), words, odf.decode(), suffix
    if "[content_types].xml" not in names:
        return None
    for main, suffix, content_type, words in _OOXML:
        if main in names:
            return words.removeprefix("an ").removeprefix("a "), words, content_type, suffix
    return None


def _odf_mimetype(data: bytes, names: list[str]) -> bytes | None:
    """The OpenDocument type stored uncompressed as the first member (ODF 1.2 §3.3), read in place."""
    if not names or names[0] != "mimetype" or data[26:30] != b"\x08\x00\x00\x00" or data[30:38] != b"mimetype":
        return None  # name length 8, no extra field: the layout the standard requires
    if data[8:10] != b"\x00\x00":  # stored, not compressed
        return None
    for mimetype in _ODF:
        if data[38 : 38 + len(mimetype)] == mimetype and data[18:22] == len(mimetype).to_bytes(4, "little"):
            return mimetype
    return None


def _text(data: bytes, filename: str) -> tuple[str, str, str, str] | None:
    """Plain text (UTF-8, or Windows-1252 as older spreadsheets export it) with no control characters."""
    suffix = "." + clean_filename(filename).rpartition(".")[2].lower() if "." in filename else ""
    if not data.strip() or suffix in _CODE_SUFFIXES:
        return None
    body = data.removeprefix(b"\xef\xbb\xbf")
    for encoding in ("utf-8", "cp1252"):
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            continue
        if any(ch < " " and ch not in _TEXT_CONTROLS or ch == "\x7f" for ch in text):
            return None
        if suffix in (".csv", ".tsv"):
            return "CSV text", "a table as plain text (CSV)", "text/csv", suffix
        return "plain text", "plain text", "text/plain", ".txt"
    return None
