"""Template name + context -> a complete outgoing message (MIME bytes), threaded and safe.

Each purpose has a folder in `templates/` holding `subject.txt`, `body.txt` and
`body.html`. HTML is autoescaped; every header value is reduced to one line, so nothing a
sender wrote (an encoded newline in a subject, say) can add a header to our mail.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from jinja2 import BytecodeCache, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.bccache import Bucket

from intake.assembly import PartRef, encode_part, splice
from intake.message.headers import one_line
from intake.mimewrite import FilePart, address, ascii_id
from intake.mimewrite import message as mime_message
from intake.refs import tag_subject
from intake.resources import response_texts
from intake.responses import Response, library
from intake.vocab import Purpose
from intake.wording import bare_subject, paragraphs

PURPOSES = tuple(Purpose)  # every X-SMAT-Purpose we send (interface.md)


def new_message_id(domain: str) -> str:
    """A fresh <id@domain> from `secrets`: our ids thread replies to us, so none may be guessable."""
    return f"<{secrets.token_hex(16)}.smat@{domain}>"


@dataclass(frozen=True)
class FileToAttach:
    """A file our mail carries (only ever a picture's prepared copy), with the sentence said of it."""

    filename: str
    content_type: str
    data: bytes
    note: str = ""
    sha256: str = ""  # of `data`, when the caller knows it already (a kept file); computed otherwise


@dataclass(frozen=True)
class InlineImage:
    """A picture shown inside the HTML body (<img src="cid:…">), not offered as an attachment."""

    content_id: str  # without <>; the template's img src is "cid:" + this
    content_type: str
    data: bytes
    filename: str


@dataclass(frozen=True)
class Outgoing:
    """A rendered message ready for the outbox: its skeleton, and the files spliced in when it is sent."""

    purpose: str
    message_id: str  # without <>
    mail_from: str
    recipients: tuple[str, ...]
    subject: str
    skeleton: bytes  # the whole message but each file's encoded body (see intake.assembly)
    parts: tuple[PartRef, ...] = ()
    files: Mapping[str, bytes] = field(default_factory=dict)  # SHA-256 -> the bytes of each file carried

    @property
    def raw(self) -> bytes:
        """The complete message as it will be sent."""
        return splice(self.skeleton, self.parts, lambda sha: encode_part(self.files[sha]))


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str = ""


class TemplateCache(BytecodeCache):
    """Compiled templates kept in memory, keyed by name and source checksum, to share between composers.

    One composer compiles each template once; a process that builds many services (the tests)
    passes one of these to each so that none compiles a template another already has.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        """Fill the bucket from memory if this source was compiled before."""
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        """Keep what was compiled."""
        self._code[bucket.key] = bucket.bytecode_to_string()


@dataclass
class Composer:
    """Renders templates into messages from the intake address; one per service."""

    templates: Path
    from_address: str
    from_name: str
    globals: dict[str, Any] = field(default_factory=dict)
    cache: BytecodeCache | None = None  # compiled templates shared with other composers (see TemplateCache)

    def __post_init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(str(self.templates)),
            bytecode_cache=self.cache,
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,  # templates are read once per process, not checked on disk for each mail
        )
        self.env.globals.update(self.globals)
        self.env.filters["bare_subject"] = bare_subject
        self.env.filters["paragraphs"] = paragraphs

    @cached_property
    def responses(self) -> dict[str, Response]:
        """The standard responses in this composer's templates/responses/, read once: the reply step offers and
        sends them, the review request suggests them."""
        return library(response_texts(self.templates))

    @property
    def domain(self) -> str:
        return self.from_address.rsplit("@", 1)[1]

    def render(self, purpose: str, part: str, context: dict[str, Any]) -> str:
        """Render one part (subject.txt, body.txt, body.html) of a purpose's templates."""
        return self.env.get_template(f"{purpose}/{part}").render(**context)

    def compose(
        self,
        purpose: str,
        to: Recipient,
        context: dict[str, Any],
        *,
        ref: str | None = None,
        in_reply_to: str | None = None,
        references: Sequence[str] = (),
        reply_to: str | None = None,
        attachments: Sequence[FileToAttach] = (),
        inline: Sequence[InlineImage] = (),
        auto_submitted: str = "auto-replied",
        template: str | None = None,
        now: datetime | None = None,
    ) -> Outgoing:
        """Build one message: subject, plain text with an HTML alternative, files, threading headers.

        `template` names the folder in templates/ when it differs from the purpose (a
        decision told to the drafter and the same decision told to SMAT share a purpose).
        `inline` pictures go beside the HTML (multipart/related) for its cid: links.
        """
        if purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {purpose!r}")
        folder = template or purpose
        # Templates list what is attached by these names, so the listing and the files cannot disagree.
        # A picture also gets a Content-ID, so the HTML can show it as a thumbnail as well as attach it.
        attached = [
            {
                "filename": one_line(f.filename, 200) or "attachment",
                "note": f.note,
                "cid": f"picture{n}.{secrets.token_hex(8)}@{self.domain}"
                if f.content_type.startswith("image/")
                else "",
            }
            for n, f in enumerate(attachments, 1)
        ]
        context = {**context, "ref": ref, "recipient": to, "attached_files": attached}
        subject = one_line(self.render(folder, "subject.txt", context))
        if ref:
            subject = tag_subject(ref, subject)
        text = self.render(folder, "body.txt", context)
        html = self.render(folder, "body.html", {**context, "subject_line": subject})  # the page's <title>

        message_id = new_message_id(self.domain)
        headers = [
            ("From", address(one_line(self.from_name, 78), self.from_address)),
            ("To", address(one_line(to.name, 78), to.email)),
            ("Subject", subject),
            ("Date", format_datetime(now or datetime.now(UTC))),
            ("Message-ID", message_id),
        ]
        if in_reply_to:
            headers.append(("In-Reply-To", f"<{ascii_id(one_line(in_reply_to, 900))}>"))
        thread = [one_line(r, 900) for r in references if r][-10:]
        if in_reply_to and in_reply_to not in thread:
            thread.append(one_line(in_reply_to, 900))
        if thread:
            headers.append(("References", ascii_id(" ".join(f"<{r}>" for r in thread))))
        if reply_to:
            headers.append(("Reply-To", reply_to))
        headers.append(("Auto-Submitted", auto_submitted))
        # Ask Exchange and friends not to send out-of-office replies to our automatic mail.
        headers.append(("X-Auto-Response-Suppress", "All"))
        headers.append(("X-SMAT-Purpose", purpose))
        if ref:
            headers.append(("X-SMAT-Ref", ref))
        files: dict[str, bytes] = {}
        parts = []
        for item, listed in zip(attachments, attached, strict=True):
            sha = item.sha256 or hashlib.sha256(item.data).hexdigest()
            files[sha] = item.data
            parts.append(FilePart(str(listed["filename"]), item.content_type, sha, str(listed["cid"])))
        shown = []
        for picture in inline:  # beside the HTML (multipart/related), for its cid: links
            sha = hashlib.sha256(picture.data).hexdigest()
            files[sha] = picture.data
            shown.append(
                FilePart(
                    one_line(picture.filename, 200),
                    picture.content_type,
                    sha,
                    one_line(picture.content_id, 200),
                )
            )
        skeleton, offsets = mime_message(headers, text, html, parts, shown)
        return Outgoing(
            purpose=purpose,
            message_id=message_id.strip("<>"),
            mail_from=self.from_address,
            recipients=(to.email,),
            subject=subject,
            skeleton=skeleton,
            parts=tuple(PartRef(offset, sha) for offset, sha in offsets),
            files=files,
        )
