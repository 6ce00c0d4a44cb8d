"""Items as the JSON and text that `items` and `show` print (the interface.md contract)."""

from __future__ import annotations

import json
import re
from datetime import tzinfo
from typing import Any

from intake.store.models import Item

DECISION_EVENTS = "decision"

# What a terminal may act on rather than show: C0 controls, DEL, the C1 controls (CSI U+009B
# among them), the line and paragraph separators, and the bidi embeddings, overrides and
# isolates that reorder what is shown. A sender wrote most of what `show` prints.
_TERMINAL_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

_JSON_UNESCAPED = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _visible(char: str) -> str:
    """A control character as something that can be seen: its Control Picture (␛, ␍, ␈), else \\uXXXX."""
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return f"\\u{code:04x}"


def terminal_safe(text: str, keep: str = "\t") -> str:
    """*text* with every control character except those in *keep* made visible, so it cannot drive the terminal."""
    return _TERMINAL_CONTROL.sub(lambda m: m[0] if m[0] in keep else _visible(m[0]), text)


def json_text(value: Any) -> str:
    """JSON for `--json`: readable Unicode, but no raw DEL, C1, separator or bidi control.

    json.dumps escapes C0 controls in strings itself, and its own newlines are layout, so only
    the rest is escaped here; they occur only inside strings, so the JSON means the same.
    """
    dumped = json.dumps(value, indent=2, ensure_ascii=False)
    return _JSON_UNESCAPED.sub(lambda m: f"\\u{ord(m[0]):04x}", dumped)


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
        cells = (
            item.ref,
            item.status,
            item.kind,
            item.received_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            item.sender or "(unknown)",
            (item.subject or "(no subject)")[:60],
        )
        ref, status, kind, received, sender, subject = (terminal_safe(cell, keep="") for cell in cells)
        rows.append((ref, status, kind, received, sender, subject))
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
    for flag in d["flags"]:  # what screening says, so the terminal shows what reviewers were shown
        lines.append(f"Flag:      {flag['severity']}  {flag['rule']} (section {flag['section']}): {flag['excerpt']}")
    for a in d["attachments"]:
        lines.append(f"File:      {a['filename']} ({a['content_type']}, {a['size']} bytes)")
    lines = [terminal_safe(line) for line in lines]
    lines += ["", terminal_safe(d["text"].rstrip(), keep="\n\t"), "", "History:"]
    for e in d["history"]:
        lines.append(terminal_safe(f"  {e['at']}  {e['kind']:<22} {e['actor']:<30} {e['detail']}"))
    return "\n".join(lines)
