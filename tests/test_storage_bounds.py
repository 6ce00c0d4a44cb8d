"""What one message may cost us: each part stored once, nesting bounded, mail we send capped (issue 7 items 3, 9).

Driven through `Service.ingest` on SQLite and PostgreSQL.  Before the fix, a 1 MB file in a
mail forwarded 45 times was stored as 20 attachments, 28.7 MB in all (each forwarded level
kept whole again, and walked), and took 18 s to read; now it is one attachment of 1.4 MB,
read in under 2 s on the same machine.  A large photo went to each reviewer at full size.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import sqlite3
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import make_msgid

import pytest
from PIL import Image
from samples import draft
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from support import OUR_ADDRESS, REVIEWERS, wire_bytes

from intake import pipeline
from intake.message import mime
from intake.store.models import Attachment, Item, Message, OutboxMessage

MB = 1024 * 1024


# What the rows' properties read (the sent copy, the raw message), loaded before they leave the session.
KEPT = (selectinload(Attachment.sent), selectinload(Attachment.message))


def pdf(size: int) -> bytes:
    return b"%PDF-1.4\n" + os.urandom(size - 9)


@functools.cache
def one_mb_report() -> bytes:
    """The innermost file of the forwarding tests: the same bytes on each database, so their mail is built once."""
    return pdf(MB)


@functools.cache  # building 45 levels costs more than taking them in: once for both databases
def forwarded(depth: int, files_per_level: int = 0, level_file: int = MB, payload: bytes = b"") -> bytes:
    """A draft forwarding a mail that forwards a mail … `depth` deep; the innermost carries `payload`."""
    inner = EmailMessage()
    inner["From"] = "Mary Resident <mary@example.com>"
    inner["Subject"] = "level 0"
    inner.set_content("The report.")
    if payload:
        inner.add_attachment(payload, maintype="application", subtype="pdf", filename="report.pdf")
    for level in range(1, depth + 1):
        outer = EmailMessage()
        outer["From"] = "Jane Resident <jane@example.com>"
        outer["Subject"] = f"Fwd: level {level}"
        outer.set_content(f"Forwarding level {level}.")
        for n in range(files_per_level):
            outer.add_attachment(pdf(level_file), maintype="application", subtype="pdf", filename=f"l{level}-{n}.pdf")
        outer.add_attachment(inner)
        inner = outer
    inner["To"] = OUR_ADDRESS
    inner["Message-ID"] = make_msgid(domain="example.com")
    return wire_bytes(inner)


def stored(service, ref: str) -> list[Attachment]:
    with service.sessions() as session:
        item_id = session.scalars(select(Item.id).where(Item.ref == ref)).one()
        rows = session.scalars(
            select(Attachment).where(Attachment.item_id == item_id).order_by(Attachment.id).options(*KEPT)
        ).all()
        session.expunge_all()
        return list(rows)


def outbox(service, purpose: str) -> list[bytes]:
    with service.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == purpose).order_by(OutboxMessage.id))
        return [row.raw for row in rows]


@pytest.fixture
def make_service(service_for, database_url):
    """Services on this test's database, built with the given config sections (closed after the test)."""
    return functools.partial(service_for, database_url)


def test_a_file_forwarded_ten_deep_is_stored_once(make_service):
    service = make_service()
    payload = one_mb_report()
    outcome = service.ingest(forwarded(10, payload=payload), "file")
    rows = stored(service, outcome.ref)
    assert [(row.filename, row.size, row.sha256) for row in rows] == [
        ("report.pdf", MB, hashlib.sha256(payload).hexdigest())
    ]


def test_a_file_forwarded_45_deep_is_not_stored_again_at_each_level(make_service):
    service = make_service()
    payload = one_mb_report()
    raw = forwarded(45, payload=payload)
    outcome = service.ingest(raw, "file")
    rows = stored(service, outcome.ref)
    total = sum(row.size for row in rows)
    # Measured: before, 20 attachments and 28.7 MB; now the deepest level read is kept whole, once.
    assert len(rows) == 1 and total <= len(raw), [(r.filename, r.size) for r in rows]
    with service.sessions() as session:
        assert session.scalar(select(func.length(Message.raw)).where(Message.id == outcome.message_db_id)) == len(raw)


def test_nesting_is_bounded_by_the_bytes_kept_as_well_as_the_depth(make_service, monkeypatch):
    monkeypatch.setattr(mime, "MAX_KEPT_BYTES", 3 * MB)
    service = make_service()
    raw = forwarded(6, files_per_level=1)  # six levels, a 1 MB file at each
    outcome = service.ingest(raw, "file")
    assert outcome.classification == "draft"
    rows = stored(service, outcome.ref)
    assert len(rows) == 3 and sum(row.size for row in rows) <= 3 * MB
    with service.sessions() as session:  # nothing is lost: the message is kept whole
        assert session.scalar(select(func.length(Message.raw)).where(Message.id == outcome.message_db_id)) == len(raw)


@functools.cache
def big_photo(size: tuple[int, int]) -> bytes:
    """A photo that does not compress away: noise, as a camera's grain is, in grains of 4 x 4 pixels.

    At 4000 x 3000 that is 5 MB, as a phone's photo is (noise in single pixels made 12 MB, costing the
    suite a second and a half of CPU to build, read and take in for nothing the test looks at).
    """
    width, height = size
    grain = Image.effect_noise((max(width // 4, 1), max(height // 4, 1)), 80).convert("RGB")
    buffer = io.BytesIO()
    grain.resize(size, Image.Resampling.NEAREST).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def draft_with_photos(*photos: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane Resident <jane@example.com>"
    msg["To"] = OUR_ADDRESS
    msg["Subject"] = "Fun day photos"
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content("Photos attached.")
    for n, data in enumerate(photos, start=1):
        msg.add_attachment(data, maintype="image", subtype="jpeg", filename=f"IMG_{n}.jpg")
    return wire_bytes(msg)


def test_a_large_photo_reaches_each_reviewer_scaled_down_not_at_full_size(make_service):
    service = make_service()
    photo = big_photo((4000, 3000))
    service.ingest(draft_with_photos(photo), "file")
    requests = outbox(service, "review-request")
    assert len(requests) == len(REVIEWERS)
    for raw in requests:
        assert len(raw) < len(photo) / 2
        (part,) = message_from_bytes(raw, policy=default).iter_attachments()
        with Image.open(io.BytesIO(part.get_payload(decode=True))) as im:
            assert im.size == (2048, 1536)


def test_pictures_beyond_the_per_mail_limit_are_kept_not_attached(make_service):
    small = big_photo((200, 150))
    large = big_photo((1200, 900))
    service = make_service(limits={"attach_per_mail_bytes": 100_000})
    outcome = service.ingest(draft_with_photos(small, large), "file")
    for raw in outbox(service, "review-request"):
        mail = message_from_bytes(raw, policy=default)
        assert [p.get_filename() for p in mail.iter_attachments()] == ["picture-1.jpg"]
        text = mail.get_body(("plain",)).get_content()
        assert "- IMG_1.jpg (image/jpeg" in text and "attached as picture-1.jpg" in text
        assert "- IMG_2.jpg (image/jpeg" in text and "kept on the system, not attached" in text
        assert "Kept, not attached: the pictures of one mail may not exceed 98 KB." in text
    assert [row.attach for row in stored(service, outcome.ref)] == [True, False]


def test_reading_a_message_holds_no_write_lock(tmp_path, monkeypatch, service_for):
    """The slow part (parsing, examining files) runs before the write transaction (SQLite's lock)."""
    database = tmp_path / "smat.db"
    service = service_for(f"sqlite:///{database}")
    could_write: list[bool] = []
    real_parse = pipeline.parse

    def parse_and_try_to_write(raw: bytes):
        other = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            could_write.append(True)
        except sqlite3.OperationalError:
            could_write.append(False)
        finally:
            other.close()
        return real_parse(raw)

    monkeypatch.setattr(pipeline, "parse", parse_and_try_to_write)
    outcome = service.ingest(draft(photos=1), "imap", source_key="INBOX:1:1")
    assert could_write == [True]
    assert outcome.classification == "draft" and outcome.mail_queued == 1 + len(REVIEWERS)
    service.engine.dispose()
