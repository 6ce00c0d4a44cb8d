"""Each file our mail carries is kept once, by content, and spliced into each message as it is sent.

A draft with photos goes to three reviewers: the database holds the raw message, one cleaned
copy of each photo and, per outgoing mail, a compressed skeleton without any photo; the mail
the relay receives is byte-for-byte the message we rendered, and each photo is base64-encoded
once however many reviewers receive it.
"""

from __future__ import annotations

import hashlib
import io
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import make_msgid

from PIL import Image
from sqlalchemy import func, select, text
from support import OUR_ADDRESS, REVIEWERS, wire_bytes

from intake.store import blobs
from intake.store.models import Attachment, Blob, OutboxBody, OutboxMessage


def photo(size: tuple[int, int], seed: int) -> bytes:
    """A camera-like JPEG (noise does not compress away), different for each seed."""
    image = Image.effect_noise(size, 60 + seed).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def draft_with(*photos: bytes, pdf: bytes | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane Resident <jane@example.com>"
    msg["To"] = OUR_ADDRESS
    msg["Subject"] = "Fun day photos"
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content("Photos from the fun day, for the council's page.")
    for n, data in enumerate(photos, start=1):
        msg.add_attachment(data, maintype="image", subtype="jpeg", filename=f"IMG_{n}.jpg")
    if pdf is not None:
        msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="poster.pdf")
    return wire_bytes(msg)


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def kept_bytes(service) -> int:
    """What the draft's storage holds: raw messages, blobs, outbox skeletons (the columns that grow)."""
    with service.sessions() as session:
        total = 0
        for column in ("messages.raw", "blobs.data", "outbox_bodies.raw"):
            table, name = column.split(".")
            total += session.execute(text(f"SELECT COALESCE(SUM(LENGTH({name})), 0) FROM {table}")).scalar_one()
        return int(total)


def test_photos_are_kept_once_and_the_database_grows_at_most_twice_what_arrived(service_for, database_url):
    service = service_for(database_url)
    raw = draft_with(photo((900, 700), 1), photo((800, 600), 2), pdf=PDF)
    outcome = service.ingest(raw, "file")
    with service.sessions() as session:
        files = session.scalars(select(Attachment).order_by(Attachment.id)).all()
        assert [f.prepared for f in files] == [True, True, False]
        assert len({f.sent_sha256 for f in files}) == 3
        assert session.scalar(select(func.count()).select_from(Blob)) == 3  # two copies, one document
        # Each original is read back from the raw message, exactly as it came.
        assert files[2].data == PDF and files[0].data.startswith(b"\xff\xd8")
        bodies = session.scalars(select(OutboxBody)).all()
        assert len(bodies) == 1 + len(REVIEWERS)  # the acknowledgement and one review request each
        assert max(len(b.raw) for b in bodies) < 4000  # a compressed skeleton, no photo in it
        requests = session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == "review-request")).all()
        for row in requests:
            mail = message_from_bytes(row.raw, policy=default)
            carried = [p.get_payload(decode=True) for p in mail.iter_attachments()]
            assert carried == [blobs.load(session, f.sent_sha256 or "") for f in files]
    assert outcome.ref
    assert kept_bytes(service) <= 2 * len(raw)


def test_each_photo_is_encoded_once_and_the_relay_gets_the_message_as_rendered(service_for, database_url, smtp_sink):
    service = service_for(database_url, smtp=smtp_sink)
    service.ingest(draft_with(photo((700, 500), 3), photo((600, 400), 4)), "file")
    with service.sessions() as session:
        rendered = {row.message_id: row.raw for row in session.scalars(select(OutboxMessage))}
    report = service.deliver()
    assert report.sent == 1 + len(REVIEWERS)
    assert service.drain.encoded.encodings == 2  # two photos, three reviewers: two encodings
    received = {c.message["Message-ID"].strip("<>"): c.data for c in smtp_sink.captured}
    assert {k: v.replace(b"\r\n", b"\n") for k, v in received.items()} == {
        k: v.replace(b"\r\n", b"\n") for k, v in rendered.items()
    }


def test_the_same_photo_in_two_drafts_is_kept_once(service_for, database_url):
    service = service_for(database_url)
    same = photo((500, 400), 5)
    service.ingest(draft_with(same), "file")
    service.ingest(draft_with(same), "file")
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Attachment)) == 2
        assert session.scalar(select(func.count()).select_from(Blob)) == 1


def test_upgrading_moves_the_copies_kept_per_file_into_blobs_once(database_url):
    from alembic import command

    from intake.store.db import _alembic_config, make_engine, upgrade
    from intake.store.reply_facts import documents, pictures

    engine = make_engine(database_url)
    command.upgrade(_alembic_config(engine), "0007")
    raw = draft_with(b"\xff\xd8original\xff\xd9", pdf=PDF)
    copy = b"\xff\xd8our copy\xff\xd9"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO items (id, ref, year, number, kind, status, sender, sender_name, sender_role, subject, "
                "text, received_at, updated_at, quarantine_reason, flags) VALUES (1, 'SMAT-2026-0001', 2026, 1, "
                "'draft', 'in_review', 'jane@example.com', '', 'public', 'Photos', '', CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP, '', '[]')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO messages (id, source, received_at, raw, sha256, size, sender, subject, classification, "
                "reason, item_id) VALUES (1, 'file', CURRENT_TIMESTAMP, :raw, 'x', 1, '', '', 'draft', '', 1)"
            ),
            {"raw": raw},
        )
        for n, (data, prepared, name, kind) in enumerate(
            [
                (b"\xff\xd8original\xff\xd9", copy, "picture-1.jpg", "image/jpeg"),
                (PDF, None, "document-2.pdf", "application/pdf"),
            ]
        ):
            conn.execute(
                text(
                    "INSERT INTO attachments (item_id, message_id, stored_name, filename, content_type, size, sha256, "
                    "inline, origin, data, prepared_name, prepared_type, prepared_data, attach) VALUES (1, 1, :stored, "
                    ":name, :kind, 1, :sha, false, 'part', :data, :name, :kind, :prepared, true)"
                ),
                {
                    "stored": f"s{n}",
                    "name": name,
                    "kind": kind,
                    "sha": hashlib.sha256(data).hexdigest(),
                    "data": data,
                    "prepared": prepared,
                },
            )
    upgrade(engine)
    from sqlalchemy.orm import Session

    from intake.store.models import Item

    with Session(engine) as session:
        item = session.get_one(Item, 1)
        assert [p.data for p in pictures(session, item)] == [copy]
        assert [d.data for d in documents(session, item)] == [PDF]
        assert [a.data for a in item.attachments] == [b"\xff\xd8original\xff\xd9", PDF]  # from the raw message
        assert session.scalar(select(func.count()).select_from(Blob)) == 2
    engine.dispose()
