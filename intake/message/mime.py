"""The MIME walk: one parsed message to an InboundMessage, its body text, HTML, attachments and forwarded mail.

Text parts become the body (plain preferred, else HTML converted to text, else a winmail.dat
body); every other leaf becomes an attachment; an image the HTML shows by cid: is marked inline;
a forwarded message is read recursively, its text appended and its files kept.

Each part is kept once: a forwarded message is kept as a file of its own (.eml) only when none of
its parts were kept as files already, so nested forwards cost no extra copies (the received
message itself is kept whole by the store).
Nesting is bounded by depth and by the bytes of the files kept, the rest recorded as a defect.
"""

from __future__ import annotations

import base64
import binascii
import email
import quopri
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from email import policy as email_policy
from email.message import Message
from html import unescape

import inscriptis

from intake.message import parts
from intake.message.headers import (
    QuickRegistry,
    describe,
    message_id,
    message_ids,
    one_line,
    read_addresses,
    read_date,
    read_headers,
)
from intake.message.model import Attachment, InboundMessage
from intake.message.text import tidy
from intake.message.tnef import is_winmail, unpack

POLICY = email_policy.default.clone(header_factory=QuickRegistry())  # what the email package reads mail with
_MAX_DEPTH = 40
MAX_KEPT_BYTES = 64 * 1024 * 1024  # the files of one message together; beyond it they are skipped, not kept
_FORWARD_TYPES = frozenset({"message/rfc822", "message/global"})
_TAG = re.compile(r"<[^<>]*>")  # not "<[^>]*>": a run of "<" without ">" made that quadratic


@dataclass
class Pending:
    """An attachment as found: its filename still the sender's raw one, its disposition kept to decide inline."""

    attachment: Attachment
    disposition: str


@dataclass
class Budget:
    """The bytes of files one message may still keep, shared by every level of its forwarded mail."""

    left: int = field(default_factory=lambda: MAX_KEPT_BYTES)  # read when a message is read, not at import
    skipped: int = 0  # files not kept because the budget was spent

    def take(self, size: int) -> bool:
        """Spend `size` bytes if they fit; False (and counted) when they do not."""
        if size > self.left:
            self.skipped += 1
            return False
        self.left -= size
        return True


@dataclass
class Collector:
    """What one walk over a MIME tree found, before the body is chosen."""

    defects: list[str]
    budget: Budget = field(default_factory=Budget)
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Pending] = field(default_factory=list)
    forwards: list[str] = field(default_factory=list)
    tnef_plain: list[str] = field(default_factory=list)
    tnef_html: list[str] = field(default_factory=list)
    tnef_rtf: list[str] = field(default_factory=list)

    def attach(
        self, filename: str, ctype: str, data: bytes, disposition: str, content_id: str | None, origin: str
    ) -> None:
        """Keep one file found in the tree (not inline until mark_inline says so), if the budget allows."""
        if not self.budget.take(len(data)):
            if self.budget.skipped == 1:
                limit = f"{MAX_KEPT_BYTES // 2**20} MB"
                self.defects.append(f"files beyond {limit} in all were not kept apart (the message itself is kept)")
            return
        found = Attachment(filename, ctype, data, inline=False, content_id=content_id, origin=origin)
        self.attachments.append(Pending(found, disposition))


def read_message(msg: Message, depth: int, budget: Budget | None = None) -> InboundMessage:
    """Read one parsed message (headers, then one walk over its MIME tree).

    Attachment file names are still the sender's raw ones: names are cleaned and numbered
    message-wide, so only the caller reading the top-level message can finish them.
    """
    defects: list[str] = []
    headers, parsed = read_headers(msg, defects)
    first: dict[str, str] = {}
    for key, value in headers:
        first.setdefault(key, value)
    addresses = read_addresses(parsed, defects)
    col = Collector(defects=defects, budget=budget or Budget())
    walk(msg, col, depth)
    text, html, text_from_html = choose_body(col)
    attachments = mark_inline(col.attachments, html)
    date = read_date(first.get("date") or "", defects)
    return InboundMessage(
        message_id=message_id(first.get("message-id")),
        in_reply_to=message_ids(first.get("in-reply-to")),
        references=message_ids(first.get("references")),
        sender=next(iter(addresses["from"]), None),
        reply_to=next(iter(addresses["reply-to"]), None),
        to=tuple(addresses["to"]),
        cc=tuple(addresses["cc"]),
        subject=one_line(first.get("subject") or "", limit=None),
        date=date,
        text=text,
        html=html,
        attachments=attachments,
        headers=tuple(headers),
        defects=tuple(dict.fromkeys(defects)),
        text_from_html=text_from_html,
    )


def walk(part: Message, col: Collector, depth: int) -> None:
    """Visit one MIME part: recurse into containers, sort leaves into body text or attachments."""
    if depth > _MAX_DEPTH:
        col.defects.append("MIME tree nested too deeply; the rest was skipped")
        return
    ctype = parts.content_type(part)
    for defect in getattr(part, "defects", ()):
        col.defects.append(f"{ctype}: {describe(defect)}")
    payload = part.get_payload()

    if ctype in _FORWARD_TYPES and isinstance(payload, list):
        _forwarded(part, payload, col, depth)
        return
    if isinstance(payload, list):
        if ctype.startswith("message/"):
            data = b"\n".join(parts.as_bytes(sub) for sub in payload if isinstance(sub, Message))
            col.attach("", ctype, data, "attachment", parts.content_id(part), "part")
            return
        if ctype == "multipart/alternative":
            _alternative(payload, col, depth)
            return
        for sub in payload:
            if isinstance(sub, Message):
                walk(sub, col, depth + 1)
        return
    try:
        _leaf(part, ctype, col)
    except Exception as exc:
        col.defects.append(f"{ctype} part skipped: {type(exc).__name__}: {exc}"[:200])


def _alternative(payload: Sequence[object], col: Collector, depth: int) -> None:
    """multipart/alternative: take the first plain-text branch and the first HTML branch."""
    branches = []
    for sub in payload:
        if isinstance(sub, Message):
            branch = Collector(defects=col.defects, budget=col.budget)
            walk(sub, branch, depth + 1)
            branches.append(branch)
    plain = next((b.plain for b in branches if any(p.strip() for p in b.plain)), [])
    html = next((b.html for b in branches if b.html), [])
    col.plain.extend(plain)
    col.html.extend(html)
    for branch in branches:
        col.attachments.extend(branch.attachments)
        col.forwards.extend(branch.forwards)
        col.tnef_plain.extend(branch.tnef_plain)
        col.tnef_html.extend(branch.tnef_html)
        col.tnef_rtf.extend(branch.tnef_rtf)


def _leaf(part: Message, ctype: str, col: Collector) -> None:
    """A non-container part: body text, winmail.dat, or an attachment."""
    disposition = parts.disposition(part)
    filename = parts.filename(part, col.defects)
    is_body = disposition != "attachment" and not filename
    if ctype.startswith("multipart/"):
        col.defects.append(f"{ctype} part without usable boundary read as plain text")
        ctype, is_body = "text/plain", True
    if is_body and ctype in ("text/plain", "text/html"):
        text = parts.part_text(part, ctype, col.defects)
        (col.plain if ctype == "text/plain" else col.html).append(text)
        return
    data = parts.payload_bytes(part)
    if is_winmail(ctype, filename, data):
        _winmail(data, filename, ctype, col)
        return
    col.attach(filename, ctype, data, disposition, parts.content_id(part), "part")


def _winmail(data: bytes, filename: str, ctype: str, col: Collector) -> None:
    """Outlook winmail.dat: its files become attachments, its body a fallback text; kept whole if unusable."""
    found = unpack(data, col.defects)
    for item in found.files:
        col.attach(item.filename, item.content_type, item.data, "attachment", None, "tnef")
    col.tnef_plain.extend(found.plain)
    col.tnef_html.extend(found.html)
    col.tnef_rtf.extend(found.rtf)
    if found.keep_raw:
        col.attach(filename or "winmail.dat", ctype, data, "attachment", None, "part")


def _forwarded(part: Message, payload: Sequence[object], col: Collector, depth: int) -> None:
    """message/rfc822: read it recursively, append its text, keep its files; itself as .eml only if it had none."""
    inner = payload[0] if payload and isinstance(payload[0], Message) else None
    if inner is None:
        col.defects.append("message/rfc822 part is empty")
        return
    data: bytes | None = None
    cte = parts.header_text(part, "content-transfer-encoding").strip().lower()
    if cte in ("base64", "quoted-printable"):
        # Non-conforming but seen: the parser read the encoded text as a message; decode and re-read.
        data = parts.as_bytes(inner)
        try:
            body = data.split(b"\n\n", 1)[-1] if inner.keys() else data
            data = base64.b64decode(body) if cte == "base64" else quopri.decodestring(body)
            inner = email.message_from_bytes(data, policy=POLICY)
        except (binascii.Error, ValueError) as exc:
            col.defects.append(f"forwarded message with bad {cte} encoding: {exc}")
    result = read_message(inner, depth + 1, col.budget)
    col.defects.extend(f"forwarded: {d}" for d in result.defects)
    sender = result.sender
    sender_text = ""
    if sender is not None:
        sender_text = f"{sender.name} <{sender.email}>" if sender.name else sender.email
    date_text = one_line(result.header("date") or "", limit=None)
    block = (
        "\n\n---------- Forwarded message ----------\n"
        f"From: {sender_text}\nDate: {date_text}\nSubject: {result.subject}\n\n{result.text}"
    )
    col.forwards.append(block.rstrip())
    if not result.attachments:
        # Nothing of it is kept elsewhere: keep it whole. Otherwise its files are kept, and it would repeat them.
        name = (result.subject or "forwarded").replace("/", "_").replace("\\", "_")
        col.attach(f"{name}.eml", "message/rfc822", data or parts.as_bytes(inner), "attachment", None, "part")
    for att in result.attachments:
        col.attachments.append(Pending(replace(att, origin="forwarded"), "attachment"))


def choose_body(col: Collector) -> tuple[str, str | None, bool]:
    """Pick the text (plain, else HTML converted, else winmail.dat body), the HTML, and whether text came from it."""
    main = "\n\n".join(p.strip("\n") for p in col.plain if p.strip())
    html = "\n".join(col.html) if col.html else None
    from_html = False
    if not main.strip():
        if html is not None and html.strip():
            main = html_to_text(html, col.defects)
            from_html = True
        elif any(t.strip() for t in col.tnef_plain):
            main = "\n\n".join(t.strip("\n") for t in col.tnef_plain if t.strip())
        elif col.tnef_html:
            main = html_to_text("\n".join(col.tnef_html), col.defects)
            from_html = True
        elif col.tnef_rtf:
            main = "\n\n".join(col.tnef_rtf)
    if html is None and col.tnef_html:
        html = "\n".join(col.tnef_html)
    text = (main.rstrip() + "".join(col.forwards)).lstrip("\n")
    return text, html, from_html


def mark_inline(found: list[Pending], html: str | None) -> tuple[Attachment, ...]:
    """The attachments, an image marked inline when the HTML references its cid: or it is marked inline."""
    lowered = (html or "").lower()
    result = []
    for pending in found:
        att = pending.attachment
        if att.origin == "part" and att.content_type.startswith("image/"):
            cid = att.content_id
            referenced = bool(cid and f"cid:{cid.lower()}" in lowered)
            att = replace(att, inline=referenced or pending.disposition == "inline")
        result.append(att)
    return tuple(result)


def html_to_text(html: str, defects: list[str]) -> str:
    """HTML to readable text with inscriptis; a crude tag strip if that fails."""
    try:
        text = inscriptis.get_text(html)
    except Exception as exc:
        defects.append(f"HTML could not be converted ({type(exc).__name__}); tags stripped instead")
        text = unescape(_TAG.sub(" ", html))
    return tidy(text)
