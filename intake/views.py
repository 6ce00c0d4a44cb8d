"""Items as the JSON and text that `items` and `show` print (the interface.md contract)."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from intake.store.models import Item

DECISION_EVENTS = "decision"


def item_to_dict(item: Item, tz: tzinfo, history: bool = False) -> dict[str, Any]:
    """One item as interface.md describes it; with history=True, every event too."""
    data: dict[str, Any] = {
        "ref": item.ref,
        "kind": item.kind,
        "status": item.status,
        "sender": item.sender,
        "sender_name": item.sender_name,
        "sender_role": item.sender_role,
        "subject": item.subject,
        "text": item.text,
        "received_at": item.received_at.astimezone(tz).isoformat(timespec="seconds"),
        "flags": list(item.flags or []),
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size} for a in item.attachments
        ],
        "decisions": [
            {
                "by": e.actor,
                "command": e.data.get("command", ""),
                "at": e.at.astimezone(tz).isoformat(timespec="seconds"),
                "accepted": bool(e.data.get("accepted", False)),
                "reason": e.data.get("reason", ""),
            }
            for e in item.events
            if e.kind == DECISION_EVENTS
        ],
    }
    if item.status == "quarantined":
        data["quarantine_reason"] = item.quarantine_reason
    if history:
        data["history"] = [
            {
                "at": e.at.astimezone(tz).isoformat(timespec="seconds"),
                "kind": e.kind,
                "actor": e.actor,
                "detail": e.detail,
            }
            for e in item.events
        ]
    return data


def items_table(items: list[Item], tz: tzinfo) -> str:
    """A plain table for people: ref, status, kind, when, who, subject."""
    if not items:
        return "No items."
    rows = [("REF", "STATUS", "KIND", "RECEIVED", "SENDER", "SUBJECT")]
    for item in items:
        rows.append(
            (
                item.ref,
                item.status,
                item.kind,
                item.received_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                item.sender or "(unknown)",
                (item.subject or "(no subject)")[:60],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join("  ".join(col.ljust(widths[i]) for i, col in enumerate(row[:5])) + "  " + row[5] for row in rows)


def item_text(item: Item, tz: tzinfo) -> str:
    """One item and its whole history, for `show REF`."""
    d = item_to_dict(item, tz, history=True)
    lines = [
        f"{d['ref']}  {d['kind']}  {d['status']}",
        f"From:      {d['sender_name']} <{d['sender']}> ({d['sender_role']})"
        if d["sender"]
        else "From:      (unknown)",
        f"Received:  {d['received_at']}",
        f"Subject:   {d['subject'] or '(no subject)'}",
    ]
    if item.status == "quarantined":
        lines.append(f"Quarantined because: {item.quarantine_reason}")
    for a in d["attachments"]:
        lines.append(f"File:      {a['filename']} ({a['content_type']}, {a['size']} bytes)")
    lines += ["", d["text"].rstrip(), "", "History:"]
    for e in d["history"]:
        lines.append(f"  {e['at']}  {e['kind']:<22} {e['actor']:<30} {e['detail']}")
    return "\n".join(lines)
