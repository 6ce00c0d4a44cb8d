"""Mail to feed the service in tests: drafts as clients send them, the golden files, an
Outlook winmail.dat draft, an auto-reply, CPython's email corpus and one mutation fuzzer."""

from __future__ import annotations

import base64
import functools
import random
from collections.abc import Iterator, Sequence
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

from support import OUR_ADDRESS

HERE = Path(__file__).resolve().parent
MESSAGES = HERE / "messages"

# A 1x1 pixel JPEG: real image bytes, small enough to keep tests fast.
TINY_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////"
    "////////////////////////2wBDAf//////////////////////////////////////////////////////////////////"
    "////////////////////wAARCAABAAEDASIAAhEBAxEB/8QAFAABAAAAAAAAAAAAAAAAAAAAA//EABQQAQAAAAAAAAAAAAAA"
    "AAAAAAD/xAAUAQEAAAAAAAAAAAAAAAAAAAAA/8QAFBEBAAAAAAAAAAAAAAAAAAAAAP/aAAwDAQACEQMRAD8AN//Z"
)


def draft(
    sender: str = "jane@example.com",
    subject: str = "Litter pick on Saturday",
    body: str = "Volunteers cleared the riverside path this morning. Thank you all!",
    name: str = "Jane Resident",
    photos: int = 0,
    files: Sequence[tuple[str, str, bytes]] = (),
    **headers: str,
) -> bytes:
    """A plain-text draft as a mail client sends it, with JPEG photos and (name, declared type, bytes) files."""
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = OUR_ADDRESS
    msg["Subject"] = subject
    msg["Date"] = "Sat, 28 Nov 2026 10:00:00 +0000"
    msg["Message-ID"] = make_msgid(domain="example.com")
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    msg.set_content(body)
    for n in range(photos):
        msg.add_attachment(TINY_JPEG, maintype="image", subtype="jpeg", filename=f"photo-{n + 1}.jpg")
    for filename, declared, data in files:
        maintype, _, subtype = declared.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes(policy=SMTP)


def golden(name: str) -> bytes:
    """One of the golden messages in tests/messages."""
    return (MESSAGES / name).read_bytes()


def winmail_draft(sender: str = "cllr.jones@example.org") -> bytes:
    """An Outlook draft whose body and files travel in winmail.dat (application/ms-tnef)."""
    msg = EmailMessage()
    msg["From"] = f"Cllr Jones <{sender}>"
    msg["To"] = OUR_ADDRESS
    msg["Subject"] = "Christmas lights switch-on"
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content("Please post the attached poster for the Christmas lights switch-on.")
    msg.add_attachment(
        (MESSAGES / "tnef" / "two-files.tnef").read_bytes(),
        maintype="application",
        subtype="ms-tnef",
        filename="winmail.dat",
    )
    return msg.as_bytes(policy=SMTP)


def auto_reply(to_subject: str = "Litter pick on Saturday", sender: str = "away@example.com") -> bytes:
    """An out-of-office reply, marked as RFC 3834 says."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = OUR_ADDRESS
    msg["Subject"] = f"Automatic reply: {to_subject}"
    msg["Auto-Submitted"] = "auto-replied"
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content("I am out of the office until Monday.")
    return msg.as_bytes(policy=SMTP)


@functools.cache
def cpython_corpus() -> tuple[tuple[str, bytes], ...]:
    """CPython's own email test messages (3.11.7's test.test_email msg_*.txt, copied into tests/data/cpython-email
    so that every interpreter has the same 48) as (name, bytes), read once."""
    data = Path(__file__).parent / "data" / "cpython-email"
    return tuple((p.name, p.read_bytes()) for p in sorted(data.glob("msg_*.txt")))


def mutations(
    seeds: Sequence[bytes], snippets: Sequence[bytes], count: int, seed: int, max_edits: int = 8
) -> Iterator[bytes]:
    """*count* damaged copies of the seeds: bytes overwritten, snippets inserted, runs deleted, tails cut."""
    rng = random.Random(seed)
    for _ in range(count):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, max_edits)):
            pos, roll = rng.randrange(len(data) + 1), rng.random()
            if roll < 0.3 and data:
                data[min(pos, len(data) - 1)] = rng.randrange(256)
            elif roll < 0.6:
                data[pos:pos] = rng.choice(snippets)
            elif roll < 0.9:
                del data[pos : pos + rng.randint(1, 40)]
            else:
                del data[pos:]
        yield bytes(data)
