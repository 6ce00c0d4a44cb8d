"""Outlook's winmail.dat (TNEF): the files inside it and its body, plain, HTML or compressed RTF."""

from __future__ import annotations

from dataclasses import dataclass, field

import compressed_rtf
from striprtf.striprtf import rtf_to_text
from tnefparse import TNEF

from intake.message.filenames import OCTET_STREAM, content_type_for
from intake.message.text import clean_text, decode_bytes, newlines, tidy

TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
_TNEF_MAGIC = b"\x78\x9f\x3e\x22"
_RTF_MAX_PAD = 256


@dataclass(frozen=True)
class WinmailFile:
    """One file found inside a winmail.dat, its name as Outlook gave it."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Winmail:
    """What a winmail.dat held; keep_raw means it could not be (fully) used, so keep it as it came."""

    files: list[WinmailFile] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    rtf: list[str] = field(default_factory=list)
    keep_raw: bool = False


def is_winmail(content_type: str, filename: str, data: bytes) -> bool:
    """Whether a part is a winmail.dat: by its type, its name, or (as octet-stream) its magic number."""
    return (
        content_type in TNEF_TYPES
        or filename.lower() == "winmail.dat"
        or (content_type == OCTET_STREAM and data.startswith(_TNEF_MAGIC))
    )


def unpack(data: bytes, defects: list[str]) -> Winmail:
    """Read a winmail.dat's files and bodies; what cannot be read becomes a defect and keep_raw."""
    found = Winmail()
    count = 0
    try:
        tnef = TNEF(data, do_checksum=False)
        for item in tnef.attachments:
            item_data = item.data if isinstance(item.data, bytes) else b""
            try:
                item_name = item.long_filename()
            except Exception:
                item_name = ""
            if isinstance(item_name, bytes):
                item_name = decode_bytes(item_name, "utf-8")[0]
            item_name = str(item_name or "").strip("\x00")
            if not item_data and not item_name:
                continue
            found.files.append(WinmailFile(item_name, content_type_for(item_name), item_data))
            count += 1
        codepage = tnef.codepage or "cp1252"
        if tnef.body:
            found.plain.append(_as_text(tnef.body, codepage))
            count += 1
        if tnef.htmlbody:
            found.html.append(_as_text(tnef.htmlbody, codepage))
            count += 1
        # The raw compressed bytes: tnef.rtfbody decompresses only if compressed_rtf happens to be
        # importable (else silently returns them compressed) and repairs only one stripped NUL.
        rtf = tnef._rtfbody
        if rtf:
            try:
                found.rtf.append(rtf_text(rtf))
                count += 1
            except Exception as exc:
                defects.append(f"winmail.dat RTF body could not be read ({type(exc).__name__}: {exc})"[:200])
    except Exception as exc:
        defects.append(f"winmail.dat could not be unpacked ({type(exc).__name__}: {exc}); kept as is"[:200])
        found.keep_raw = True
    else:
        if not count:
            defects.append("winmail.dat held no files or body; kept as is")
            found.keep_raw = True
    return found


def _as_text(value: str | bytes, codepage: str) -> str:
    """A winmail.dat string property as clean text."""
    if isinstance(value, bytes):
        value = decode_bytes(value, codepage)[0]
    return clean_text(newlines(value))


def rtf_text(compressed: bytes) -> str:
    """Outlook's compressed RTF body (MS-OXRTFCP) to plain text; the libraries raise on bad input."""
    # tnefparse strips trailing NUL bytes from binary properties, which can cut the end of the
    # stream off (its CRC then fails).  The header's first field counts the bytes after it, so
    # put the NULs back -- a few at most; a forged size is left for the CRC check to reject.
    declared = int.from_bytes(compressed[:4], "little") + 4
    if 0 < declared - len(compressed) <= _RTF_MAX_PAD:
        compressed = compressed.ljust(declared, b"\x00")
    rtf = compressed_rtf.decompress(compressed)
    # RTF is 7-bit text; stray 8-bit bytes are read as Outlook's usual cp1252.
    text: str = rtf_to_text(rtf.decode("cp1252", errors="replace"), errors="replace")  # type: ignore[no-untyped-call]
    return tidy(clean_text(text))
