"""The one picture path: content decides what a file is, and a picture goes on only re-encoded.

Bytes in, a value out; no database, socket or file.  A file is a picture only when its content
starts like a JPEG, PNG, GIF, WebP or HEIC image and Pillow decodes every frame of it.  The copy
prepared for reviewers and for posting is a fresh encoding of the decoded pixels, so EXIF (GPS
position, camera serial, owner), XMP, comments and text chunks are not carried over, whatever
the sender's file held; it is turned upright, scaled down to the configured size, and named by
us.  Anything else gets a reason in plain words; executables, scripts, markup (SVG included),
macro-capable Office files, archives and files claimed to be pictures are marked `withhold`.
Time and memory are bounded by the byte, pixel and frame limits, checked before any decoding.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import pillow_heif
from PIL import Image, ImageOps, ImageSequence

# EXIF tags (CIPA DC-008) read only to tell the reviewer what the prepared copy no longer has.
_IFD_EXIF, _IFD_GPS, _ORIENTATION = 0x8769, 0x8825, 0x0112
_TOP_TAGS = {0x013B: "author name", 0x8298: "copyright notice", 0x010F: "camera make and model"}
_EXIF_TAGS = {
    0xA431: "camera serial number",
    0xA435: "lens serial number",
    0xA430: "owner name",
    0x9003: "date and time taken",
    0x927C: "camera maker's notes",
}
_OUTPUT = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "GIF": ("image/gif", ".gif")}
_OUTPUT["WEBP"] = ("image/webp", ".webp")
# What Pillow is allowed to try for each signature: no other decoder ever sees the bytes.
_PILLOW_FORMATS = {"JPEG": ("JPEG",), "PNG": ("PNG",), "GIF": ("GIF",), "WEBP": ("WEBP",)}
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")
_DECLARED = re.compile(r"image/[a-z0-9.+-]{1,40}")
_PICTURE_SUFFIXES = frozenset(".jpg .jpeg .jpe .png .gif .webp .heic .heif .svg .bmp .tif .tiff".split())
_MARKUP = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<meta", b"<a ", b"<div")


@dataclass(frozen=True)
class PictureLimits:
    """How far a picture is trusted: bytes, pixels and frames decoded, and the size it is posted at."""

    max_side: int = 2048  # the long side of the prepared copy, in pixels
    max_bytes: int = 50 * 1024 * 1024  # larger files are not decoded at all
    max_pixels: int = 40_000_000  # per frame, checked from the header before decoding (a 1.2 GB bomb is 'huge')
    max_frames: int = 300
    max_total_pixels: int = 400_000_000  # all frames of an animation together
    jpeg_quality: int = 88
    webp_quality: int = 88


@dataclass(frozen=True)
class Prepared:
    """The copy that may be sent on: re-encoded bytes, their type and the name we gave them."""

    data: bytes
    content_type: str
    filename: str
    width: int
    height: int
    frames: int


@dataclass(frozen=True)
class Examined:
    """What a file proved to be: a picture with its prepared copy, or not, with the reason in words."""

    is_picture: bool
    format: str  # by content: 'JPEG', 'PNG', 'GIF', 'WEBP', 'HEIC', or what it is otherwise ('Windows program', ...)
    reason: str = ""  # why it is not a picture; empty for a picture
    withhold: bool = False  # never send on: program, script, markup, macro-capable document, archive, fake picture
    prepared: Prepared | None = None
    original_size: tuple[int, int] | None = None
    removed: tuple[str, ...] = field(default_factory=tuple)  # metadata not carried into the prepared copy
    changed: tuple[str, ...] = field(default_factory=tuple)  # 'resized from 6000×4000 to 2048×1365', ...


class _NotAPicture(Exception):
    """Raised inside this module only, to leave decoding with a reason."""


def examine(data: bytes, declared_type: str, filename: str, limits: PictureLimits, *, index: int = 1) -> Examined:
    """Decide by content whether `data` is a picture and, if so, prepare the copy named picture-`index`."""
    kind = _image_signature(data)
    if kind is None:
        return _not_a_picture(data, declared_type, filename)
    if len(data) > limits.max_bytes:
        most = f"{limits.max_bytes / 2**20:g} MB" if limits.max_bytes >= 2**20 else f"{limits.max_bytes} bytes"
        return Examined(False, kind, f"a {kind} picture larger than {most} is not read")
    try:
        if kind == "HEIC":
            heic = _open_heif(data, limits)
            return _prepare(heic, "HEIC", "JPEG", limits, index, heic.size)
        with Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS[kind]) as im:
            _check_size(im.size, limits)
            out = "JPEG" if im.format == "MPO" else kind  # an iPhone's multi-picture JPEG: its main picture
            original = im.size
            if out == "JPEG":
                im.draft(im.mode, _fit(original, limits.max_side))  # libjpeg decodes at 1/2, 1/4 or 1/8 directly
            return _prepare(im, kind, out, limits, index, original)
    except _NotAPicture as exc:
        return Examined(False, kind, str(exc), withhold=True)
    except Image.DecompressionBombError:
        return Examined(False, kind, f"it claims more pixels than the {limits.max_pixels:,} allowed", withhold=True)
    except Exception:  # noqa: BLE001 - decoders of hostile bytes raise anything; none of it may escape
        return Examined(False, kind, f"it starts like a {kind} picture but is damaged or incomplete", withhold=True)


def describe(examined: Examined) -> str:
    """One sentence for the review request: what the picture became, or why a file is not sent as one."""
    if examined.prepared is None:
        return f"Not sent as a picture: {examined.reason}."
    p = examined.prepared
    frames = f", {p.frames} frames" if p.frames > 1 else ""
    parts = [f"Prepared for posting as {p.filename} ({_OUTPUT_NAME[p.content_type]}, {p.width}×{p.height}{frames})."]
    if examined.removed:
        parts.append("Removed: " + ", ".join(examined.removed) + ".")
    else:
        parts.append("It carried no location, serial number or owner data.")
    parts.extend(change[0].upper() + change[1:] + "." for change in examined.changed)
    return " ".join(parts)


_OUTPUT_NAME = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WebP"}


# --- deciding by content -------------------------------------------------------------------


def _image_signature(data: bytes) -> str | None:
    """The picture format the first bytes announce, or None: Pillow then proves it by decoding."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIC"
    return None


def _what_else(data: bytes) -> tuple[str, str, bool]:
    """(format name, words, dangerous) for content that is not a picture: known signatures, then text."""
    signatures: tuple[tuple[bytes, str, str, bool], ...] = (
        (b"MZ", "Windows program", "a Windows program", True),
        (b"\x7fELF", "Linux program", "a Linux program", True),
        (b"\xcf\xfa\xed\xfe", "macOS program", "a macOS program", True),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            "OLE2 document",
            "an old-format Office file, which can carry macros",
            True,
        ),
        (b"%PDF-", "PDF", "a PDF document", False),
        (b"#!", "script", "a script", True),
        (b"Rar!\x1a\x07", "RAR archive", "a RAR archive", True),
        (b"7z\xbc\xaf\x27\x1c", "7-Zip archive", "a 7-Zip archive", True),
        (b"\x1f\x8b", "gzip archive", "a gzip archive", True),
    )
    for magic, name, words, dangerous in signatures:
        if data.startswith(magic):
            return name, words, dangerous
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        # Member names sit uncompressed in the local headers: found without expanding anything.
        if b"vbaProject.bin" in data:
            return "macro Office document", "a macro-enabled Office document", True
        if b"[Content_Types].xml" in data:
            return "Office document", "an Office document (a ZIP archive)", True
        return "ZIP archive", "a ZIP archive", True
    head = data[:4096].lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n").replace(b"\x00", b"").lower()
    if b"<svg" in head:
        return "SVG", "an SVG drawing, and an SVG is never treated as a picture: it can carry script", True
    if any(marker in head for marker in _MARKUP):
        return "HTML", "a web page (HTML), which can carry script", True
    if head.startswith(b"<?xml") or head.startswith(b"<!"):
        return "XML", "an XML document", True
    return "unknown", "not a JPEG, PNG, GIF, WebP or HEIC picture", False


def _not_a_picture(data: bytes, declared_type: str, filename: str) -> Examined:
    """The refusal of a non-picture, saying what it claimed to be and what its content is."""
    name, words, dangerous = _what_else(data)
    declared = declared_type.strip().lower()
    suffix = "." + filename.rpartition(".")[2].lower() if "." in filename else ""
    if declared == "image/svg+xml" and name in ("SVG", "XML", "unknown"):
        return Examined(False, "SVG", "an SVG is never treated as a picture: it can carry script", withhold=True)
    what = f"is {words}" if name != "unknown" else f"its content is {words}"
    if _DECLARED.fullmatch(declared):
        return Examined(False, name, f"declared as {declared} but {what}", withhold=True)
    if suffix in _PICTURE_SUFFIXES:
        return Examined(False, name, f"named {suffix} but {what}", withhold=True)
    return Examined(False, name, f"it {what}" if name != "unknown" else what, withhold=dangerous)


# --- decoding and preparing ----------------------------------------------------------------


def _check_size(size: tuple[int, int], limits: PictureLimits) -> None:
    """Refuse, from the header alone, a picture whose pixels would not fit the limits (a decompression bomb)."""
    width, height = size
    if width <= 0 or height <= 0:
        raise _NotAPicture("it claims to be a picture with no pixels")
    if width * height > limits.max_pixels:
        raise _NotAPicture(f"it claims to be {width}×{height} pixels, more than the {limits.max_pixels:,} allowed")


def _open_heif(data: bytes, limits: PictureLimits) -> Image.Image:
    """The main picture of a HEIC file as a Pillow image, size checked before libheif decodes it."""
    heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
    _check_size(heif.size, limits)
    image = heif.to_pillow()
    image.format = "HEIC"
    return image


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The size scaled so its long side is at most max_side, proportions kept."""
    scale = min(1.0, max_side / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _prepare(
    im: Image.Image, kind: str, out: str, limits: PictureLimits, index: int, original: tuple[int, int]
) -> Examined:
    """Decode every frame, turn upright, scale down and encode afresh with no metadata."""
    removed = _metadata_words(im)
    loop, icc = im.info.get("loop"), im.info.get("icc_profile")  # read before seeking changes `info`
    frames = _frames(im, out, limits)
    changed = ["converted from HEIC to JPEG"] if kind == "HEIC" else []
    orientation = im.getexif().get(_ORIENTATION, 1)
    if len(frames) == 1 and orientation != 1:
        frames = [(ImageOps.exif_transpose(frames[0][0]), frames[0][1])]
        changed.append("turned upright")
        if orientation in (5, 6, 7, 8):
            original = (original[1], original[0])
    size = _fit(original, limits.max_side)
    if size != original:
        frames = [(frame.resize(size, Image.Resampling.LANCZOS), duration) for frame, duration in frames]
        changed.append(f"resized from {original[0]}×{original[1]} to {size[0]}×{size[1]}")
    content_type, suffix = _OUTPUT[out]
    data = _encode(frames, out, loop, icc, limits)
    width, height = frames[0][0].size
    prepared = Prepared(data, content_type, f"picture-{index}{suffix}", width, height, len(frames))
    return Examined(True, kind, prepared=prepared, original_size=original, removed=removed, changed=tuple(changed))


def _frames(im: Image.Image, out: str, limits: PictureLimits) -> list[tuple[Image.Image, int]]:
    """Every frame decoded, in a mode the output format takes, each with its duration in ms."""
    frames: list[tuple[Image.Image, int]] = []
    total = 0
    for frame in ImageSequence.Iterator(im):
        if len(frames) >= limits.max_frames:
            raise _NotAPicture(f"it has more than {limits.max_frames} frames")
        total += frame.width * frame.height
        if total > limits.max_total_pixels:
            raise _NotAPicture("its frames together hold more pixels than allowed")
        frame.load()
        duration = int(frame.info.get("duration", 0) or 0)
        frames.append((_clean_copy(frame, out), duration))
        if out == "JPEG":
            break  # a JPEG is one picture; an MPO's other frames are depth maps and previews
    return frames


def _clean_copy(frame: Image.Image, out: str) -> Image.Image:
    """The pixels only: a converted copy with an empty info, so no metadata can ride along."""
    has_alpha = frame.mode in ("RGBA", "LA", "PA") or "transparency" in frame.info
    if out == "JPEG":
        mode = frame.mode if frame.mode in ("L", "RGB", "CMYK") else "RGB"
    elif frame.mode in ("1", "L", "RGB", "I;16") and not has_alpha and out == "PNG":
        mode = frame.mode
    else:
        mode = "RGBA" if has_alpha else "RGB"
    copy = frame.convert(mode) if mode != frame.mode else frame.copy()
    orientation = frame.getexif().get(_ORIENTATION)
    copy.info = {}
    if orientation:
        kept = Image.Exif()
        kept[_ORIENTATION] = orientation  # only for exif_transpose to read; it removes it, nothing encodes it
        copy.info["exif"] = kept.tobytes()
    return copy


def _encode(frames: list[tuple[Image.Image, int]], out: str, loop: object, icc: object, limits: PictureLimits) -> bytes:
    """The frames encoded afresh; only the colour profile is passed on, so colours stay true."""
    buffer = io.BytesIO()
    first = frames[0][0]
    first.info = {}
    options: dict[str, object] = {}
    if isinstance(icc, bytes) and out != "GIF":
        options["icc_profile"] = icc
    if out == "JPEG":
        options.update(quality=limits.jpeg_quality, optimize=True)
    elif out == "WEBP":
        options.update(quality=limits.webp_quality)
    if len(frames) > 1:
        options.update(
            save_all=True,
            append_images=[frame for frame, _ in frames[1:]],
            duration=[max(duration, 10) for _, duration in frames],
        )
        if isinstance(loop, int):
            options["loop"] = loop  # absent means play once, as the sender's file did
    first.save(buffer, out, **options)
    return buffer.getvalue()


def _metadata_words(im: Image.Image) -> tuple[str, ...]:
    """What identifying data the sender's file held, in the words the review request uses."""
    words: list[str] = []
    exif = im.getexif()
    if exif.get_ifd(_IFD_GPS) or _IFD_GPS in exif:
        words.append("location (GPS)")
    inner = exif.get_ifd(_IFD_EXIF)
    words.extend(label for tag, label in _EXIF_TAGS.items() if inner.get(tag))
    words.extend(label for tag, label in _TOP_TAGS.items() if exif.get(tag))
    info = im.info
    if info.get("xmp") or info.get("XML:com.adobe.xmp"):
        words.append("XMP metadata")
    if info.get("comment"):
        words.append("comment")
    text = getattr(im, "text", None) if im.format == "PNG" else None
    if text:
        words.append("text notes")
    return tuple(dict.fromkeys(words))
