"""The drafts the benchmarks take in: text only, or realistic (plain, HTML, photos, replies, forwards).

Realistic drafts cycle through five shapes: plain text; HTML with a text alternative; plain
text with one to three JPEG photos of 200–800 KB; a reply ("Re:", In-Reply-To) with a photo;
a forwarded message (message/rfc822) carrying a photo. Photos come from a pool of real JPEGs
(camera-like noise, which does not compress away), each given a comment naming the draft so
that no two drafts carry the same bytes; the pixels repeat across the pool, so the cleaned
copies of two drafts may be the same picture (kept once: see `storage` in backlog.py, which
uses photos that all differ).
"""

from __future__ import annotations

import io
import random
import struct
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

OUR_ADDRESS = "smat.info@example.org"
SHAPES = ("plain", "html", "photos", "reply", "forward")


def jpeg(width: int, height: int, seed: int, quality: int = 92) -> bytes:
    """A real JPEG of camera-like noise."""
    from PIL import Image

    image = Image.effect_noise((width, height), 40 + seed % 50).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def photo_pool(count: int = 12, low_kb: int = 200, high_kb: int = 800, seed: int = 2026) -> list[bytes]:
    """`count` JPEGs whose sizes spread from low_kb to high_kb."""
    rng = random.Random(seed)
    pool = []
    for n in range(count):
        target = (low_kb + (high_kb - low_kb) * n / max(count - 1, 1)) * 1024
        width = 640
        data = jpeg(width, width * 3 // 4, rng.randrange(1000))
        while len(data) < target * 0.9:  # noise JPEGs grow with the area: scale up to the target size
            width = int(width * (target / len(data)) ** 0.5) + 8
            data = jpeg(width, width * 3 // 4, rng.randrange(1000))
        pool.append(data)
    return pool


def tagged(photo: bytes, tag: str) -> bytes:
    """The photo with a JPEG comment (COM segment) naming the draft: different bytes, the same picture."""
    comment = tag.encode("ascii")
    return photo[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + photo[2:]


def _base(i: int, rng: random.Random, subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Resident {i} <resident{i}@example.com>"
    msg["To"] = OUR_ADDRESS
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = f"<bench-{i}-{rng.getrandbits(48):x}@example.com>"
    return msg


TEXT = (
    "Volunteers cleared the riverside path this morning, filling forty bags of litter. "
    "Thank you to everyone who came along, and to the Scouts for the tea.\n\n"
    "Could this go on the council's page this week, please?\n"
)


def text_draft(i: int, rng: random.Random) -> bytes:
    """A short plain-text draft, as most drafts are."""
    msg = _base(i, rng, f"Draft post {i}: litter pick on the riverside")
    msg.set_content(f"Draft number {i} for the council's page.\n\n{TEXT}")
    return msg.as_bytes(policy=SMTP)


def realistic_draft(i: int, rng: random.Random, pool: list[bytes]) -> bytes:
    """One of the five shapes, by i; photos from the pool, tagged with i."""
    shape = SHAPES[i % len(SHAPES)]

    def photos(count: int) -> list[bytes]:
        return [tagged(pool[rng.randrange(len(pool))], f"bench draft {i} photo {n}") for n in range(count)]

    if shape == "plain":
        return text_draft(i, rng)
    if shape == "html":
        msg = _base(i, rng, f"Draft post {i}: Christmas lights")
        msg.set_content(f"Draft {i}. The Christmas lights switch-on is on Friday at 6pm in the Market Square.\n")
        msg.add_alternative(
            f"<html><body><p>Draft {i}.</p><p>The <b>Christmas lights</b> switch-on is on Friday at 6pm "
            "in the Market Square.</p><ul><li>Carols</li><li>Mulled wine</li></ul></body></html>",
            subtype="html",
        )
        return msg.as_bytes(policy=SMTP)
    if shape == "photos":
        msg = _base(i, rng, f"Draft post {i}: fun day photos")
        msg.set_content(f"Draft {i}. Photos from the fun day attached.\n")
        for n, data in enumerate(photos(1 + i % 3), start=1):
            msg.add_attachment(data, maintype="image", subtype="jpeg", filename=f"IMG_{i}_{n}.jpg")
        return msg.as_bytes(policy=SMTP)
    if shape == "reply":
        msg = _base(i, rng, f"Re: Draft post {i - 1}: the bench by the river")
        msg["In-Reply-To"] = f"<earlier-{i}@example.com>"
        msg["References"] = f"<earlier-{i}@example.com>"
        msg.set_content(f"Draft {i}. As promised, here is the photo of the new bench.\n\n> Could you send a photo?\n")
        msg.add_attachment(photos(1)[0], maintype="image", subtype="jpeg", filename="bench.jpg")
        return msg.as_bytes(policy=SMTP)
    inner = _base(i + 1_000_000, rng, "Photos of the parade")
    inner.set_content("Here are the parade photos for the council's page.\n")
    inner.add_attachment(photos(1)[0], maintype="image", subtype="jpeg", filename="parade.jpg")
    msg = _base(i, rng, f"Fwd: Photos of the parade ({i})")
    msg.set_content(f"Draft {i}. Forwarding this from a resident, for the page.\n")
    msg.add_attachment(inner)
    return msg.as_bytes(policy=SMTP)


def drafts(kind: str, n: int, seed: int = 20260) -> Iterator[bytes]:
    """n drafts of a kind ("text" or "realistic"), one at a time, the same for every run with the same seed."""
    rng = random.Random(seed)
    pool = photo_pool() if kind == "realistic" else []
    for i in range(1, n + 1):
        yield text_draft(i, rng) if kind == "text" else realistic_draft(i, rng, pool)
