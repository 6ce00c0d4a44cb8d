"""The attachments table: each file of a message kept under a generated name, never the sender's.

The original bytes stay in the raw message, kept exactly (the row says where: its `part`);
beside them, what the content proved the file to be and what our mail carries of it (a
picture's re-encoded copy, or an ordinary document as it came), kept once by content in `blobs`.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from intake.message.filenames import extension_for
from intake.store import blobs
from intake.store.db import Session
from intake.store.models import Attachment, Item, Message

_PICTURE_NAME = re.compile(r"picture-(\d+)(\.\w+)")  # as intake.pictures names a prepared copy

if TYPE_CHECKING:  # the core's own values; named for the type checker only, so the store loads no picture code
    from intake.files import ExaminedFile
    from intake.message import Attachment as ParsedFile


def store_attachments(
    session: Session, item: Item, row: Message, parsed: Sequence[ParsedFile], examined: Sequence[ExaminedFile]
) -> list[Attachment]:
    """Keep each file under a generated name, in the parser's order, with its verdict and prepared copy.

    Pictures that come later to the same item (with an answer to a question, or a repeat) are numbered
    on from those it has, so that no two of its pictures share a name in the mail that lists them.
    """
    earlier = 0
    if any(found.examined.prepared for found in examined):  # only a picture is renumbered: ask only then
        kept = select(func.count()).select_from(Attachment).where(Attachment.item_id == item.id, Attachment.prepared)
        earlier = session.scalar(kept) or 0
    stored = []
    for number, (part, found) in enumerate(zip(parsed, examined, strict=True)):
        prepared = found.examined.prepared
        extension = extension_for(part.content_type)
        sent_name = found.sent_name  # a picture's copy or a document sent as it came, by our name
        note = found.note
        numbered = _PICTURE_NAME.fullmatch(sent_name or "") if prepared and earlier else None
        if numbered and sent_name:
            renamed = f"picture-{int(numbered.group(1)) + earlier}{numbered.group(2)}"
            note, sent_name = note.replace(sent_name, renamed), renamed
        sent = prepared.data if prepared else part.data if sent_name is not None and found.attach else None
        record = Attachment(
            item_id=item.id,
            message_id=row.id,
            stored_name=f"{uuid.uuid4().hex}{extension}",
            filename=part.filename[:255],
            content_type=part.content_type[:255],
            size=len(part.data),
            sha256=hashlib.sha256(part.data).hexdigest(),
            part=number,
            inline=part.inline,
            content_id=part.content_id[:998] if part.content_id else None,
            origin=part.origin,
            content_format=found.examined.format[:64],
            withheld=found.examined.withhold,
            note=note,
            prepared_name=sent_name,
            prepared_type=found.sent_type,
            prepared=prepared is not None,
            sent_sha256=blobs.keep(session, sent) if sent is not None else None,
            attach=found.attach and sent_name is not None,
        )
        session.add(record)
        stored.append(record)
    if stored:
        session.flush()
    return stored


def sent_copy(session: Session, record: Attachment) -> bytes | None:
    """What our mail carries of a kept file (a picture's copy, a document as it came), if anything."""
    return blobs.load(session, record.sent_sha256) if record.sent_sha256 else None
