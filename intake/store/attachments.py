"""The attachments table: each file of a message kept under a generated name, never the sender's.

The original bytes are kept exactly as received; beside them, what the content proved the file
to be and, for a picture, the re-encoded copy that is the only thing our mail ever carries.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from intake.message.filenames import extension_for
from intake.store.db import Session
from intake.store.models import Attachment, Item, Message

if TYPE_CHECKING:  # the core's own values; named for the type checker only, so the store loads no picture code
    from intake.files import ExaminedFile
    from intake.message import Attachment as ParsedFile


def store_attachments(
    session: Session, item: Item, row: Message, parsed: Sequence[ParsedFile], examined: Sequence[ExaminedFile]
) -> list[Attachment]:
    """Keep each file under a generated name, in the parser's order, with its verdict and prepared copy."""
    stored = []
    for part, found in zip(parsed, examined, strict=True):
        prepared = found.examined.prepared
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
            content_format=found.examined.format[:64],
            withheld=found.examined.withhold,
            note=found.note,
            prepared_name=found.sent_name,  # a picture's copy or a document sent as it came, by our name
            prepared_type=found.sent_type,
            prepared_data=prepared.data if prepared else None,
            attach=found.attach and found.sent_name is not None,
        )
        session.add(record)
        stored.append(record)
    session.flush()
    return stored
