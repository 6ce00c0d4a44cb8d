"""The attachments table: each file of a message kept under a generated name, never the sender's."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Protocol

from intake.message.filenames import extension_for
from intake.store.db import Session
from intake.store.models import Attachment, Item, Message


class ParsedFile(Protocol):
    """What the parser tells us about one file (`intake.message.Attachment` fits)."""

    @property
    def filename(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def inline(self) -> bool: ...
    @property
    def content_id(self) -> str | None: ...
    @property
    def origin(self) -> str: ...


def store_attachments(session: Session, item: Item, row: Message, parsed: Sequence[ParsedFile]) -> list[Attachment]:
    """Keep each file under a generated name, in the parser's order; the sender's name is only displayed."""
    stored = []
    for part in parsed:
        extension = extension_for(part.content_type)
        record = Attachment(
            item_id=item.id,
            message_id=row.id,
            stored_name=f"{uuid.uuid4().hex}{extension}",
            filename=part.filename[:255],
            content_type=part.content_type[:255],
            size=len(part.data),
            sha256=hashlib.sha256(part.data).hexdigest(),
            inline=part.inline,
            content_id=part.content_id[:998] if part.content_id else None,
            origin=part.origin,
            data=part.data,
        )
        session.add(record)
        stored.append(record)
    session.flush()
    return stored
