"""Limits per message and per file (issue 9): over them the item is kept and marked, the drafter told.

Driven through `Service.ingest` on SQLite and PostgreSQL.  Before this there was no such
limit: a message of any size had every file decoded and offered to reviewers.  Now a message
over `[limits] message_bytes`, or a file over `attachment_bytes`, is still kept whole and
becomes an item as usual, but the files over the limit are neither read nor sent on; the
item carries a `size-limit` flag reviewers see on top, and the acknowledgement says so.
"""

from __future__ import annotations

import functools
import io
import os
import tomllib
from email.message import EmailMessage
from pathlib import Path

import pytest
from PIL import Image
from samples import draft
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from support import REVIEWERS, queued, settings_for

from intake import files as files_module
from intake.config import ConfigError
from intake.store.models import Attachment, Item, Message

KB = 1024
ACK_LINE = "was larger than the council's limit"


# What the rows' properties read (the sent copy, the raw message), loaded before they leave the session.
KEPT = (selectinload(Attachment.sent), selectinload(Attachment.message))


def photo() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((64, 48), 60).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


def pdf(size: int) -> bytes:
    return b"%PDF-1.4\n%" + os.urandom(size - 10)


def draft_with(*files: tuple[str, str, bytes]) -> bytes:
    return draft(
        subject="Christmas market", body="The Christmas market opens on Saturday in the Market Square.", files=files
    )


@pytest.fixture
def make_service(service_for, database_url):
    return functools.partial(service_for, database_url)


def text_of(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()


def item_and_files(service, ref: str) -> tuple[Item, list[Attachment]]:
    with service.sessions() as session:
        item = session.scalars(select(Item).where(Item.ref == ref)).one()
        rows = session.scalars(
            select(Attachment).where(Attachment.item_id == item.id).order_by(Attachment.id).options(*KEPT)
        ).all()
        session.expunge_all()
        return item, list(rows)


def test_a_message_over_the_limit_is_kept_whole_marked_and_none_of_its_files_read(make_service, monkeypatch):
    read: list[str] = []
    real = files_module.examine
    monkeypatch.setattr(files_module, "examine", lambda data, *a, **k: read.append("x") or real(data, *a, **k))
    service = make_service(limits={"message_bytes": 100 * KB})
    picture, document = photo(), pdf(90 * KB)
    raw = draft_with(("market.jpg", "image/jpeg", picture), ("stalls.pdf", "application/pdf", document))
    outcome = service.ingest(raw, "file")

    assert outcome.classification == "draft" and outcome.ref and read == []
    item, rows = item_and_files(service, outcome.ref)
    assert [(r.filename, r.data, r.attach, r.prepared_data) for r in rows] == [
        ("market.jpg", picture, False, None),
        ("stalls.pdf", document, False, None),
    ]
    with service.sessions() as session:  # nothing lost: the message as received
        assert session.scalar(select(func.length(Message.raw)).where(Message.id == outcome.message_db_id)) == len(raw)
    flag = next(f for f in item.flags if f["rule"] == "size-limit")
    assert flag["severity"] == "warn"
    assert flag["excerpt"] == (
        "This message was larger than the council's limit of 100 KB; "
        "its 2 files are kept on the system and not sent on."
    )
    for mail in queued(service, "review-request"):
        assert list(mail.iter_attachments()) == []
        text = text_of(mail)
        assert text.index("WARN  size-limit") < text.index("Reference:")  # on top, with the policy flags
        assert "Kept on the system, not read or sent on: the message was larger than the limit of 100 KB." in text
    (ack,) = queued(service, "acknowledgement")
    assert ACK_LINE in text_of(ack) and "(100 KB for an email, 20 MB for one file)" in text_of(ack)
    assert "been passed on to the reviewers" in text_of(ack)


def test_a_file_over_the_per_file_limit_is_kept_unread_and_the_rest_go_on(make_service, monkeypatch):
    read: list[str] = []
    real = files_module.examine
    monkeypatch.setattr(
        files_module, "examine", lambda data, ct, name, *a, **k: read.append(name) or real(data, ct, name, *a, **k)
    )
    service = make_service(limits={"attachment_bytes": 50 * KB})
    picture, big = photo(), pdf(60 * KB)
    outcome = service.ingest(
        draft_with(("market.jpg", "image/jpeg", picture), ("big.pdf", "application/pdf", big)), "file"
    )

    assert read == ["market.jpg"]
    item, rows = item_and_files(service, outcome.ref)
    assert [(r.filename, r.attach, r.size) for r in rows] == [
        ("market.jpg", True, len(picture)),
        ("big.pdf", False, len(big)),
    ]
    assert [f["excerpt"] for f in item.flags if f["rule"] == "size-limit"] == [
        "1 file larger than the council's limit of 50 KB for one file: kept on the system, not sent on."
    ]
    requests = queued(service, "review-request")
    assert len(requests) == len(REVIEWERS)
    for mail in requests:
        assert [p.get_filename() for p in mail.iter_attachments()] == ["picture-1.jpg"]
        assert "it is larger than the limit of 50 KB for one file" in text_of(mail)
    (ack,) = queued(service, "acknowledgement")
    assert ACK_LINE in text_of(ack) and "50 KB for one file" in text_of(ack)


def test_within_the_limits_there_is_no_flag_and_no_line_in_the_acknowledgement(make_service):
    service = make_service()
    outcome = service.ingest(draft_with(("stalls.pdf", "application/pdf", pdf(60 * KB))), "file")
    item, rows = item_and_files(service, outcome.ref)
    assert not [f for f in item.flags if f["rule"] == "size-limit"] and rows[0].attach
    (ack,) = queued(service, "acknowledgement")
    assert ACK_LINE not in text_of(ack)


def test_the_limits_default_to_25_mb_a_message_and_20_mb_a_file_as_the_example_config_says(tmp_path, sqlite_url):
    limits = settings_for(tmp_path, sqlite_url).limits  # no [limits] given: the loader's defaults
    assert (limits.message_bytes, limits.attachment_bytes) == (25 * 1024 * 1024, 20 * 1024 * 1024)
    example = tomllib.loads((Path(__file__).parent.parent / "config.example.toml").read_text(encoding="utf-8"))
    assert example["limits"]["message_bytes"] == 26214400 and example["limits"]["attachment_bytes"] == 20971520
    with pytest.raises(ConfigError, match="message_bytes"):
        settings_for(tmp_path, sqlite_url, overrides={"limits": {"message_bytes": 10}})
