"""File names: a sender's name made safe to display, and the one chooser of a file extension.

The extension chooser is shared: the parser uses it to name a nameless part, the pipeline to
name the file it stores.  It reads a private table, so a name never depends on the host's
/etc/mime.types, and it never takes an extension the table does not know.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata

from intake.message.text import clean_text

MAX_FILENAME = 200
OCTET_STREAM = "application/octet-stream"
# The standard library's built-in table only: MimeTypes() does not read the host's files.
_MIME = mimetypes.MimeTypes()
# Where the built-in table has several extensions for a type, the one people expect.
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "text/plain": ".txt",
    "text/calendar": ".ics",
    "message/rfc822": ".eml",
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
    OCTET_STREAM: ".bin",
}
_DRIVE = re.compile(r"^[A-Za-z]:")


def extension_for(content_type: str, filename: str = "") -> str:
    """The extension (with its dot) for a file of this type: '.bin' when the type says nothing we know.

    The filename's own extension is kept only when the table maps it to the same declared type
    (photo.jpeg stays .jpeg); a sender cannot choose an extension the type does not vouch for.
    """
    ctype = content_type.strip().lower()
    stem, dot, suffix = filename.rpartition(".")
    if dot and stem and suffix and ctype != OCTET_STREAM:
        own = "." + suffix.lower()
        if _MIME.guess_type("file" + own, strict=False)[0] == ctype:
            return own
    if ctype in _EXTENSIONS:
        return _EXTENSIONS[ctype]
    guessed = _MIME.guess_extension(ctype, strict=False)
    if guessed:
        return guessed
    return ".txt" if ctype.startswith(("text/", "message/")) else ".bin"


def content_type_for(filename: str) -> str:
    """The content type a file name implies (lower case), or application/octet-stream."""
    guessed = _MIME.guess_type(filename, strict=False)[0] if filename else None
    return (guessed or OCTET_STREAM).lower()


def clean_filename(name: str) -> str:
    """A sender's file name made safe to display: basename only, no controls, at most 200 chars."""
    name = clean_text(name).replace("\\", "/")
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    name = name.rsplit("/", 1)[-1]
    name = _DRIVE.sub("", name)
    name = name.replace("..", "")
    name = " ".join(name.split()).strip(" .")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: MAX_FILENAME - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:MAX_FILENAME].rstrip(" .")
    return name


def display_name(filename: str, content_type: str, number: int) -> str:
    """The name an attachment is shown under: the sender's, cleaned, else attachment-<number> and an extension."""
    return clean_filename(filename) or f"attachment-{number}{extension_for(content_type)}"
