"""The one picture path: a file is a picture only by its content, and only a clean re-encoding goes on."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import time
import zipfile
import zlib

import pillow_heif
import pytest
from PIL import Image

from intake.pictures import Examined, PictureLimits, describe, examine

LIMITS = PictureLimits()
GPS_IFD, EXIF_IFD, ORIENTATION = 0x8825, 0x8769, 0x0112
BODY_SERIAL, OWNER_NAME = 0xA431, 0xA430


def camera_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: where, which camera body (serial), whose camera."""
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS 5D"
    if orientation != 1:
        exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 12.0, 30.5), "W", (1.0, 4.0, 7.25)
    inner = exif.get_ifd(EXIF_IFD)
    inner[BODY_SERIAL] = "SN-4471-XYZ"
    inner[OWNER_NAME] = "Jane Ratepayer"
    return exif


def encode(im: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


def photo_with_exif(size: tuple[int, int] = (640, 480), orientation: int = 1) -> bytes:
    return encode(Image.new("RGB", size, (30, 120, 200)), "JPEG", exif=camera_exif(orientation), quality=90)


def animated(frames: int = 3, fmt: str = "GIF") -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255)]
    images = [Image.new("RGB", (80, 60), colours[i % len(colours)]) for i in range(frames)]
    durations = [100 * (i + 1) for i in range(frames)]
    return encode(images[0], fmt, save_all=True, append_images=images[1:], duration=durations, loop=0, lossless=True)


def transparent_png() -> bytes:
    im = Image.new("RGBA", (40, 30), (10, 200, 10, 255))
    im.putpixel((0, 0), (0, 0, 0, 0))
    from PIL.PngImagePlugin import PngInfo

    text = PngInfo()
    text.add_text("Author", "Jane Ratepayer, 12 Mill Lane")
    return encode(im, "PNG", pnginfo=text)


def noisy_jpeg(size: tuple[int, int] = (200, 150)) -> bytes:
    """A JPEG whose pixels do not compress away, so cutting it loses real picture data."""
    return encode(Image.frombytes("RGB", size, random.Random(1).randbytes(size[0] * size[1] * 3)), "JPEG")


def prepared_image(result: Examined) -> Image.Image:
    assert result.is_picture and result.prepared is not None, result.reason
    return Image.open(io.BytesIO(result.prepared.data))


def png_claiming(width: int, height: int) -> bytes:
    """A real 1×1 PNG whose header claims width×height: a decompression bomb's first bytes."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    ihdr = bytearray(data[12:29])  # 'IHDR' + 13 bytes of header fields
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


# --- pictures: what the prepared copy keeps and what it drops ---------------------------


def test_location_camera_serial_and_owner_are_absent_from_the_prepared_copy() -> None:
    original = photo_with_exif()
    sent = Image.open(io.BytesIO(original)).getexif()
    assert sent.get_ifd(GPS_IFD) and sent.get_ifd(EXIF_IFD)[BODY_SERIAL] == "SN-4471-XYZ"  # the input really has them

    result = examine(original, "image/jpeg", "IMG_0001.JPG", LIMITS)

    exif = prepared_image(result).getexif()
    assert not exif.get_ifd(GPS_IFD) and GPS_IFD not in exif
    assert BODY_SERIAL not in exif.get_ifd(EXIF_IFD) and OWNER_NAME not in exif.get_ifd(EXIF_IFD)
    assert result.prepared is not None
    assert b"SN-4471-XYZ" not in result.prepared.data and b"Jane Ratepayer" not in result.prepared.data
    assert {"location (GPS)", "camera serial number", "owner name"} <= set(result.removed)


def test_a_sideways_phone_photo_is_turned_upright_before_its_exif_is_dropped() -> None:
    im = Image.new("RGB", (60, 40), (0, 0, 255))
    for y in range(40):
        for x in range(30):
            im.putpixel((x, y), (255, 0, 0))  # left half red: orientation 6 shows it at the top
    original = encode(im, "JPEG", exif=camera_exif(orientation=6), quality=95)

    result = examine(original, "image/jpeg", "IMG_0002.JPG", LIMITS)

    out = prepared_image(result)
    assert out.size == (40, 60) and ORIENTATION not in out.getexif()
    red, _, blue = out.convert("RGB").getpixel((20, 5))  # type: ignore[misc]
    assert red > 200 and blue < 60
    assert "turned upright" in result.changed


def test_a_6000_by_4000_photo_is_scaled_to_2048_on_the_long_side() -> None:
    original = encode(Image.new("RGB", (6000, 4000), (90, 90, 90)), "JPEG")

    result = examine(original, "image/jpeg", "big.jpg", LIMITS)

    assert prepared_image(result).size == (2048, 1365)
    assert result.original_size == (6000, 4000)
    assert "resized from 6000×4000 to 2048×1365" in result.changed


def test_the_long_side_limit_is_configurable_and_small_pictures_keep_their_size() -> None:
    original = photo_with_exif((800, 600))
    assert prepared_image(examine(original, "image/jpeg", "a.jpg", PictureLimits(max_side=400))).size == (400, 300)
    kept = examine(original, "image/jpeg", "a.jpg", LIMITS)
    assert prepared_image(kept).size == (800, 600) and not any("resized" in c for c in kept.changed)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_an_animation_stays_animated_with_every_frame_and_its_timing(fmt: str) -> None:
    result = examine(animated(3, fmt), f"image/{fmt.lower()}", "wave", LIMITS)

    out = prepared_image(result)
    assert out.format == fmt and getattr(out, "n_frames", 1) == 3
    assert result.prepared is not None and result.prepared.frames == 3
    colours, durations = [], []
    for number in range(3):
        out.seek(number)
        colours.append(tuple(round(c / 50) * 50 for c in out.convert("RGB").getpixel((10, 10))))  # type: ignore[union-attr]
        durations.append(out.info["duration"])
    assert colours == [(250, 0, 0), (0, 250, 0), (0, 0, 250)] and durations == [100, 200, 300]


def test_a_transparent_png_stays_a_transparent_png_without_its_text_notes() -> None:
    result = examine(transparent_png(), "image/png", "logo.png", LIMITS, index=2)

    out = prepared_image(result)
    assert result.prepared is not None and result.prepared.content_type == "image/png"
    assert out.format == "PNG" and out.convert("RGBA").getpixel((0, 0))[3] == 0  # type: ignore[index]
    assert out.convert("RGBA").getpixel((5, 5)) == (10, 200, 10, 255)
    assert not getattr(out, "text", {}) and b"Mill Lane" not in result.prepared.data
    assert "text notes" in result.removed


@pytest.mark.parametrize(
    ("fmt", "content_type", "suffix"),
    [("JPEG", "image/jpeg", ".jpg"), ("PNG", "image/png", ".png"), ("WEBP", "image/webp", ".webp")],
)
def test_each_format_stays_itself_under_a_name_we_choose(fmt: str, content_type: str, suffix: str) -> None:
    original = encode(Image.new("RGB", (64, 48), (200, 100, 0)), fmt, exif=camera_exif())

    result = examine(original, "application/octet-stream", "../../Payroll 2026.exe", LIMITS, index=3)

    assert result.prepared is not None and prepared_image(result).format == fmt
    assert (result.prepared.content_type, result.prepared.filename) == (content_type, f"picture-3{suffix}")
    assert not prepared_image(result).getexif().get_ifd(GPS_IFD)


def test_the_type_comes_from_the_content_not_the_declared_type() -> None:
    result = examine(transparent_png(), "image/jpeg", "photo.jpg", LIMITS)

    assert result.format == "PNG"
    assert result.prepared is not None and result.prepared.filename == "picture-1.png"
    assert result.prepared.content_type == "image/png"


def test_an_iphone_heic_becomes_a_jpeg_without_its_location() -> None:
    heif = pillow_heif.from_pillow(Image.new("RGB", (64, 48), (0, 120, 0)))
    buffer = io.BytesIO()
    heif.save(buffer, quality=80, exif=camera_exif().tobytes())
    original = buffer.getvalue()
    assert pillow_heif.open_heif(io.BytesIO(original)).info.get("exif")  # the input really carries EXIF

    result = examine(original, "image/heic", "IMG_4471.HEIC", LIMITS)

    out = prepared_image(result)
    assert result.format == "HEIC" and out.format == "JPEG"
    assert result.prepared is not None and result.prepared.filename == "picture-1.jpg"
    assert not out.getexif().get_ifd(GPS_IFD) and b"SN-4471-XYZ" not in result.prepared.data
    assert "location (GPS)" in result.removed and "converted from HEIC to JPEG" in result.changed


def test_script_hidden_after_or_inside_a_picture_does_not_survive_re_encoding() -> None:
    gif = animated(1) + b"<script>alert(document.cookie)</script>"
    jpeg = encode(Image.new("RGB", (32, 32)), "JPEG", comment=b"<script>alert(1)</script>")
    for data in (gif, jpeg):
        result = examine(data, "image/gif", "x.gif", LIMITS)
        assert result.prepared is not None and b"<script" not in result.prepared.data


def test_the_original_bytes_are_left_as_received() -> None:
    original = photo_with_exif((3000, 2000))
    digest = hashlib.sha256(original).hexdigest()

    result = examine(original, "image/jpeg", "a.jpg", LIMITS)

    assert hashlib.sha256(original).hexdigest() == digest
    assert result.prepared is not None and result.prepared.data != original


# --- impostors: refused, with the reason in words -----------------------------------------


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.writestr(name, "x" * 100)
    return buffer.getvalue()


SVG_WITH_SCRIPT = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"Microsoft Word Document VBA Macros"
IMPOSTORS = [
    ("exe", b"MZ\x90\x00\x03" + bytes(60) + b"This program cannot be run in DOS mode", "image/jpeg", "payroll.exe",
     "declared as image/jpeg but is a Windows program"),
    ("elf", b"\x7fELF\x02\x01\x01" + bytes(60), "image/png", "x.png", "declared as image/png but is a Linux program"),
    ("html", b"<!DOCTYPE html><html><body><script>steal()</script></body></html>", "image/png", "invoice.png",
     "declared as image/png but is a web page (HTML)"),
    ("ole2", OLE2, "image/gif", "minutes.gif",
     "declared as image/gif but is an old-format Office file, which can carry macros"),
    ("svg", SVG_WITH_SCRIPT, "image/svg+xml", "logo.svg", "an SVG is never treated as a picture: it can carry script"),
    ("svg-as-png", SVG_WITH_SCRIPT, "image/png", "logo.png", "declared as image/png but is an SVG drawing"),
    ("zip", zipped("photos/a.jpg", "run.bat"), "image/jpeg", "photos.jpg",
     "declared as image/jpeg but is a ZIP archive"),
    ("docm", zipped("[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"), "image/jpeg", "a.jpg",
     "declared as image/jpeg but is a macro-enabled Office document"),
    ("named", b"MZ" + bytes(100), "application/octet-stream", "holiday.jpg", "named .jpg but is a Windows program"),
    ("garbage", bytes(range(256)) * 4, "image/jpeg", "a.jpg", "declared as image/jpeg but its content is not a JPEG"),
    ("truncated", noisy_jpeg()[: len(noisy_jpeg()) // 2], "image/jpeg", "a.jpg", "damaged or incomplete"),
    ("bomb", png_claiming(100_000, 100_000), "image/png", "a.png", "pixels"),
    ("over-our-limit", png_claiming(8000, 6000), "image/png", "a.png", "it claims to be 8000×6000 pixels"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "declared", "filename", "reason"), [i[1:] for i in IMPOSTORS], ids=[i[0] for i in IMPOSTORS]
)
def test_an_impostor_is_refused_and_withheld_with_its_reason(
    data: bytes, declared: str, filename: str, reason: str
) -> None:
    started = time.monotonic()
    result = examine(data, declared, filename, LIMITS)

    assert not result.is_picture and result.prepared is None and result.withhold
    assert reason in result.reason
    assert time.monotonic() - started < 2  # a bomb is refused from its header, not decoded
    assert describe(result) == f"Not sent as a picture: {result.reason}."


def test_a_pdf_sent_as_a_pdf_is_not_a_picture_but_not_withheld_either() -> None:
    result = examine(b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "application/pdf", "agenda.pdf", LIMITS)

    assert (result.is_picture, result.withhold, result.format, result.reason) == (
        False,
        False,
        "PDF",
        "it is a PDF document",
    )


def test_too_many_frames_or_bytes_are_refused_before_decoding_everything() -> None:
    frames = examine(animated(5), "image/gif", "a.gif", PictureLimits(max_frames=3))
    assert not frames.is_picture and "more than 3 frames" in frames.reason
    size = examine(photo_with_exif(), "image/jpeg", "a.jpg", PictureLimits(max_bytes=1000))
    assert not size.is_picture and size.reason == "a JPEG picture larger than 1000 bytes is not read"


def test_pillows_global_pixel_limit_is_left_alone() -> None:
    before = Image.MAX_IMAGE_PIXELS
    examine(png_claiming(8000, 6000), "image/png", "a.png", PictureLimits(max_pixels=10))
    examine(photo_with_exif(), "image/jpeg", "a.jpg", PictureLimits(max_pixels=10**9))
    assert Image.MAX_IMAGE_PIXELS == before


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about damaged EXIF it skips
def test_damaged_pictures_of_every_format_never_raise() -> None:
    heif = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (32, 32), (9, 9, 9))).save(heif)
    seeds = [photo_with_exif((64, 48)), transparent_png(), animated(3), heif.getvalue()]
    seeds.append(encode(Image.new("RGB", (32, 32)), "WEBP"))
    rng = random.Random(7)
    for seed in seeds:
        for _ in range(25):
            data = bytearray(seed)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(8, len(data))] = rng.randrange(256)
            cut = bytes(data[: rng.randrange(12, len(data) + 1)])
            result = examine(cut, "image/jpeg", "a.jpg", LIMITS)
            assert result.is_picture == (result.prepared is not None) and (result.is_picture or result.reason)


# --- the words in the review request ------------------------------------------------------


def test_describe_tells_the_reviewer_what_was_removed_and_changed() -> None:
    text = describe(examine(photo_with_exif((6000, 4000)), "image/jpeg", "IMG_0001.JPG", LIMITS))

    assert text.startswith("Prepared for posting as picture-1.jpg (JPEG, 2048×1365).")
    assert "Removed: location (GPS), camera serial number, owner name" in text
    assert "Resized from 6000×4000 to 2048×1365." in text


def test_describe_says_a_clean_picture_carried_nothing() -> None:
    text = describe(examine(animated(3), "image/gif", "a.gif", LIMITS))

    assert text == (
        "Prepared for posting as picture-1.gif (GIF, 80×60, 3 frames). "
        "It carried no location, serial number or owner data."
    )
