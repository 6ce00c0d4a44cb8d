"""Text repair shared by the parser: smuggled 8-bit bytes, NULs, lone surrogates, charsets, blank runs."""

from __future__ import annotations

import codecs
import re

_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_BLANK_RUNS = re.compile(r"\n{3,}")


def fix_surrogates(value: str) -> tuple[str, str]:
    """Turn raw 8-bit bytes smuggled in as surrogates into text (utf-8, else cp1252), and name the codec used."""
    if not _ESCAPED_BYTE.search(value):
        return value, ""
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def replace_surrogates(value: str) -> str:
    """Lone surrogates become '?', so the text can be encoded (and stored) as UTF-8."""
    if _SURROGATE.search(value):
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def clean_text(value: str) -> str:
    """Remove NUL characters (PostgreSQL text refuses them) and lone surrogates."""
    return replace_surrogates(value.replace("\x00", ""))


def decode_bytes(data: bytes, charset: str) -> tuple[str, str]:
    """Decode with the declared charset, then utf-8, then cp1252 with replacement; name the codec used."""
    charset = (charset or "us-ascii").strip().strip('"').lower()
    for candidate in (charset, "utf-8"):
        try:
            codecs.lookup(candidate)
            return data.decode(candidate), candidate
        except Exception:
            continue
    return data.decode("cp1252", errors="replace"), "cp1252"


def newlines(text: str) -> str:
    """CRLF and lone CR line endings as LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def tidy(text: str) -> str:
    """Trim trailing spaces on each line and collapse runs of blank lines to one."""
    lines = [line.rstrip() for line in newlines(text).split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")
