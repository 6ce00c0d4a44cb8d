"""A subject access export: everything held about one person, as one zip file they can be given.

`held.json` lists it all (items with their whole history, other messages, history lines of
other items that name them, mail we sent them); beside it each message exactly as received
(`.eml`), each file as it came, and each mail we sent them. The file is made readable by its
owner only: it is the person's data.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from intake.store.models import Event, Message, OutboxMessage
from intake.store.personal_data import Held
from intake.views import item_to_dict

README = """\
What {council} holds about {address}, exported {when}.

held.json      everything below, listed: each item you sent (its text, status and whole history),
               your other messages, lines of other items' history that name you, and mail we sent you
items/         for each item, the messages exactly as received (.eml) and the files that came with them
messages/      your other messages, exactly as received (.eml)
mail-to-you/   mail we sent you or were to send you (.eml), where still held

Any .eml file opens in a mail program. Published posts are public record (policy 6.6).
"""


def default_name(address: str, now: datetime) -> Path:
    """smat-intake-export-jane-example.com-20261129T2040.zip, in the current folder."""
    safe = re.sub(r"[^a-z0-9.]+", "-", address.lower()).strip("-")
    return Path(f"smat-intake-export-{safe}-{now:%Y%m%dT%H%M}.zip")


def write_export(held: Held, address: str, council: str, out: Path, tz: tzinfo, now: datetime) -> dict[str, int]:
    """Write the zip to `out` (mode 0600) and return how many of each thing it holds."""
    listing: dict[str, Any] = {"address": address, "exported_at": _at(now, tz), "council": council}
    files: dict[str, bytes] = {}
    listing["items"] = []
    for item in held.items:
        entry = item_to_dict(item, tz, history=True)
        folder = f"items/{item.ref}"
        entry["messages"] = [
            _message(row, item.ref, tz, f"{folder}/message-{row.id}.eml", files) for row in item.messages
        ]
        entry["files"] = []
        for attachment in item.attachments:
            name = f"{folder}/files/{attachment.id}-{attachment.stored_name}"
            files[name] = attachment.data
            entry["files"].append({"file": name, "filename": attachment.filename, "size": attachment.size})
        listing["items"].append(entry)
    listing["messages"] = [
        _message(row, row.item.ref if row.item else None, tz, f"messages/message-{row.id}.eml", files)
        for row in held.messages
    ]
    listing["history_naming_you"] = [_event(event, tz) for event in held.events]
    listing["mail_to_you"] = [_outgoing(row, tz, files) for row in held.outbox]
    listing["roster"] = [
        {
            "name": m.name,
            "email": m.email,
            "role": m.role,
            "active": m.active,
            "added": _at(m.added_at, tz),
            "added_by": m.added_by,
            "removed": _at(m.removed_at, tz),
            "removed_by": m.removed_by,
        }
        for m in held.members
    ]
    listing["roster_changes"] = [
        {"at": _at(a.at, tz), "area": a.area, "action": a.action, "by": a.actor, "about": a.subject, "detail": a.detail}
        for a in held.audit
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README.format(council=council, address=address, when=_at(now, tz)))
        archive.writestr("held.json", json.dumps(listing, indent=2, ensure_ascii=False))
        for name, data in files.items():
            archive.writestr(name, data)
    return {
        "items": len(held.items),
        "messages": sum(len(item.messages) for item in held.items) + len(held.messages),
        "files": sum(len(item.attachments) for item in held.items),
        "history lines of other items": len(held.events),
        "mail to them": len(held.outbox),
        "roster entries": len(held.members),
        "roster changes": len(held.audit),
    }


def _at(when: datetime | None, tz: tzinfo) -> str | None:
    return when.astimezone(tz).isoformat(timespec="seconds") if when else None


def _message(row: Message, ref: str | None, tz: tzinfo, name: str, files: dict[str, bytes]) -> dict[str, Any]:
    if row.raw:
        files[name] = row.raw
    return {
        "file": name if row.raw else None,
        "received_at": _at(row.received_at, tz),
        "classification": row.classification,
        "subject": row.subject,
        "item": ref,
    }


def _event(event: Event, tz: tzinfo) -> dict[str, Any]:
    return {
        "item": event.item.ref,
        "at": _at(event.at, tz),
        "kind": event.kind,
        "actor": event.actor,
        "detail": event.detail,
    }


def _outgoing(row: OutboxMessage, tz: tzinfo, files: dict[str, bytes]) -> dict[str, Any]:
    name = f"mail-to-you/outbox-{row.id}.eml"
    if row.raw:
        files[name] = row.raw
    return {
        "file": name if row.raw else None,
        "purpose": row.purpose,
        "status": row.status,
        "queued_at": _at(row.created_at, tz),
        "sent_at": _at(row.sent_at, tz),
    }
