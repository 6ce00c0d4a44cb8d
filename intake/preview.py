"""`smat-intake preview`: one example of every kind of mail, from the live templates and config, sent nowhere.

The sample story (intake/preview_samples.py) is played through the real pipeline on a
throw-away SQLite database in a temporary folder, with a composer that notes which template
made each mail and for whom; the council's own database, mailbox and relay are never
opened, and nothing is delivered. Each row of `SAMPLES` is then written as `.eml` (the
message as it would go) and `.html` (its HTML part), with an `index.html` listing them.
"""

from __future__ import annotations

import colorsys
import dataclasses
import email
import html
import io
import logging
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from intake.config import Person, Settings
from intake.errors import IntakeError
from intake.render import Composer, Outgoing, Recipient
from intake.resources import templates_dir
from intake.vocab import Role

from intake.preview_samples import (  # isort: skip
    READERS,
    SAMPLES,
    STORY,
    Reply,
    Sample,
    Send,
    SendDigest,
    SendReport,
    Step,
)

# Who plays each reader when the roster has nobody in that role (addresses that cannot exist).
STAND_INS: dict[str, Person] = {
    "clerk": Person("Town Clerk (sample)", "clerk@preview.invalid", Role.CLERK),
    "smat": Person("Sam Sample (sample SMAT member)", "smat@preview.invalid", Role.SMAT),
    "councillor": Person("Cllr Anne Whitmore (sample)", "councillor@preview.invalid", Role.COUNCILLOR),
    "staff": Person("Pat Officer (sample)", "staff@preview.invalid", Role.STAFF),
}
_ROLE_OF_READER = {"clerk": Role.CLERK, "smat": Role.SMAT, "councillor": Role.COUNCILLOR, "staff": Role.STAFF}
RESIDENT = ("Jane Resident", "jane.resident@example.com")


@dataclass(frozen=True)
class Made:
    """One mail composed during the story: the step that caused it, its template folder, to whom."""

    step: str
    template: str
    to: str  # the address, lower case
    ref: str | None
    out: Outgoing


class RecordingComposer(Composer):
    """The service's composer, noting every mail it makes with its template and the current step."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.made: list[Made] = []
        self.failures: list[str] = []  # templates that could not be rendered (the pipeline keeps going)
        self.step = ""

    def compose(self, purpose: str, to: Recipient, context: dict[str, Any], **options: Any) -> Outgoing:
        """Compose as usual, and note the mail (or why its template could not be rendered)."""
        template = options.get("template") or purpose
        try:
            out = super().compose(purpose, to, context, **options)
        except Exception as exc:
            self.failures.append(f"{self.step}: templates/{template}/ could not be rendered: {exc}")
            raise
        self.made.append(Made(self.step, str(template), to.email.lower(), options.get("ref"), out))
        return out


@dataclass(frozen=True)
class PreviewResult:
    """What `write_preview` wrote, and what it could not."""

    written: tuple[Path, ...]
    missing: tuple[Sample, ...]  # rows of SAMPLES the story made no mail for
    unsampled: tuple[str, ...]  # template folders with no row in SAMPLES
    problems: tuple[str, ...]  # steps of the story that could not be played


def template_folders(templates: Path) -> tuple[str, ...]:
    """Every kind of mail: the template folders with a subject (partials start with "_"; responses/ holds texts)."""
    return tuple(
        sorted(
            p.name
            for p in templates.iterdir()
            if p.is_dir() and not p.name.startswith("_") and (p / "subject.txt").exists()
        )
    )


def cast(settings: Settings) -> dict[str, Person]:
    """Who reads as each roster reader: the first active roster member in that role, else a stand-in."""
    people: dict[str, Person] = {}
    for reader, role in _ROLE_OF_READER.items():
        found = [p for p in settings.people if p.active and p.role == role]
        people[reader] = found[0] if found else STAND_INS[reader]
    return people


def preview_settings(settings: Settings, database_url: str) -> tuple[Settings, dict[str, Person]]:
    """The user's settings on a scratch database, with no mailbox or relay, a throw-away secret, one approval.

    Stand-ins join the roster for roles nobody holds, so every reader's mail can be shown.
    """
    people = cast(settings)
    roster = settings.people + tuple(p for p in people.values() if p not in settings.people)
    security = dataclasses.replace(
        settings.security, given_secret=secrets.token_bytes(32), require_authenticated_replies=False
    )
    scratch = dataclasses.replace(
        settings,
        database_url=database_url,
        people=roster,
        security=security,
        review=dataclasses.replace(settings.review, approvals_required=1),
        imap=None,
        smtp=None,
        graph=None,
        oauth2=None,
        listener=None,
    )
    return scratch, people


def sample_picture(number: int) -> bytes:
    """A small JPEG in a colour of its own, standing in for a photograph."""
    from PIL import Image, ImageDraw

    r, g, b = colorsys.hsv_to_rgb((number * 0.27) % 1, 0.45, 0.85)
    picture = Image.new("RGB", (640, 480), (int(r * 255), int(g * 255), int(b * 255)))
    draw = ImageDraw.Draw(picture)
    for x in range(0, 640, 40):
        draw.line([(x, 0), (640 - x, 480)], fill=(255, 255, 255), width=3)
    data = io.BytesIO()
    picture.save(data, "JPEG", quality=80)
    return data.getvalue()


class Story:
    """Plays the steps through a pipeline, keeping the item each label stands for."""

    def __init__(self, settings: Settings, people: dict[str, Person], composer: RecordingComposer) -> None:
        from intake.digest_mail import send_digest
        from intake.pipeline import Pipeline
        from intake.store.db import make_engine, make_sessions, upgrade

        self.settings, self.people, self.composer = settings, people, composer
        self.engine = make_engine(settings.database_url)
        upgrade(self.engine)
        self.sessions = make_sessions(self.engine)
        self.pipeline = Pipeline(settings, self.sessions, composer, logging.getLogger("intake.preview.pipeline"))
        self._send_digest = send_digest
        self.refs: dict[str, str] = {}
        self.problems: list[str] = []
        self._pictures = 0

    def close(self) -> None:
        """Close the scratch database."""
        self.engine.dispose()

    def who(self, reader: str) -> tuple[str, str]:
        """(name, address) of a reader; "resident:Raj Patel" is another member of the public."""
        if reader == "resident":
            return RESIDENT
        if reader.startswith("resident:"):  # "resident:Raj Patel", or with an address: "resident:Raj <raj@x.example>"
            name, _, address = reader.split(":", 1)[1].partition("<")
            name = name.strip()
            return name, address.rstrip(">").strip() or f"{name.lower().replace(' ', '.')}@example.com"
        person = self.people[reader]
        return person.name, person.email

    def play(self, steps: Sequence[Step]) -> None:
        """Every step in order; a step that cannot be played is noted and the story goes on."""
        for step in steps:
            self.composer.step = step.name
            if isinstance(step, SendDigest):
                self._send_digest(self.settings, self.sessions, self.composer)
            elif isinstance(step, SendReport):
                self._send_report()
            elif isinstance(step, Send):
                outcome = self.pipeline.ingest(self._message(step), "preview")
                if outcome.ref:
                    self.refs[step.item] = outcome.ref
                elif step.item:  # a roster command makes no item, and is not meant to
                    self.problems.append(f"{step.name}: the message made no item ({outcome.reason})")
            else:
                raw = self._reply(step)
                if raw is not None:
                    self.pipeline.ingest(raw, "preview")

    def _send_report(self) -> None:
        """This month's committee report, sent as if the month were over (the real one waits for that)."""
        from intake.monthly_mail import send_report

        month = datetime.now(self.settings.council.tz).date().replace(day=1)
        after = (month + timedelta(days=32)).replace(day=2)
        send_report(
            self.settings, self.sessions, self.composer, month, now=datetime(after.year, after.month, 2, tzinfo=UTC)
        )

    def _message(self, step: Send) -> bytes:
        name, address = self.who(step.who)
        msg = self._new(name, address, self.settings.mailbox.address, step.subject, step.body, step.pictures)
        return msg.as_bytes(policy=SMTP)

    def _reply(self, step: Reply) -> bytes | None:
        """A reply to the newest mail from `step.answering` to this reader about the item, as a mail client makes it."""
        name, address = self.who(step.who)
        ref = self.refs.get(step.item)
        answered = [
            m
            for m in self.composer.made
            if m.template == step.answering and m.to == address.lower() and (ref is None or m.ref == ref)
        ]
        if not answered:
            self.problems.append(f"{step.name}: {address} had no {step.answering} mail about {step.item} to reply to")
            return None
        ours = email.message_from_bytes(answered[-1].out.raw, policy=default)
        to = str(ours.get("Reply-To") or self.settings.mailbox.address)
        text = step.text
        for reader, person in self.people.items():  # "ASSIGN {staff}": whoever plays that reader
            text = text.replace("{" + reader + "}", person.name)
        msg = self._new(name, address, to, f"Re: {ours['Subject']}", text, step.pictures)
        msg["In-Reply-To"] = str(ours["Message-ID"])
        msg["References"] = str(ours["Message-ID"])
        return msg.as_bytes(policy=SMTP)

    def _new(self, name: str, address: str, to: str, subject: str, body: str, pictures: int) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = f"{name} <{address}>"
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = make_msgid(domain=address.rsplit("@", 1)[1])
        msg.set_content(body)
        for _ in range(pictures):
            self._pictures += 1
            filename = f"IMG_{4000 + self._pictures}.jpg"
            msg.add_attachment(sample_picture(self._pictures), maintype="image", subtype="jpeg", filename=filename)
        return msg


def reader_of(address: str, people: dict[str, Person], settings: Settings) -> str:
    """Which reader an address is: a cast member's reader name, the clerk for a deputy, else resident."""
    for reader, person in people.items():
        if address.lower() in (a.lower() for a in person.addresses):
            return reader
    member = settings.person(address)
    if member is not None and member.role in (Role.CLERK, Role.DEPUTY_CLERK):
        return "clerk"
    if member is not None and member.role in _ROLE_OF_READER.values():
        return next(reader for reader, role in _ROLE_OF_READER.items() if role == member.role)
    return "resident"


def html_part(raw: bytes) -> str:
    """The text/html part of a message we composed."""
    msg = email.message_from_bytes(raw, policy=default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(preferencelist=("html",))
    if part is None:
        raise IntakeError("a composed mail has no HTML part")
    content = part.get_content()
    return content if isinstance(content, str) else ""


def write_preview(
    settings: Settings,
    out: Path,
    templates: Path | None = None,
    samples: Sequence[Sample] = SAMPLES,
    story: Sequence[Step] = STORY,
) -> PreviewResult:
    """Play the story and write one .eml and .html per sample into `out`; nothing is stored or sent."""
    templates = templates or templates_dir()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="smat-preview-") as scratch_dir:
        scratch, people = preview_settings(settings, f"sqlite:///{Path(scratch_dir) / 'preview.db'}")
        composer = RecordingComposer(
            templates=templates, from_address=scratch.mailbox.address, from_name=f"{scratch.council.name} SMAT"
        )
        played = Story(scratch, people, composer)
        try:
            played.play(story)
        finally:
            played.close()
    written: list[Path] = []
    missing: list[Sample] = []
    rows: list[tuple[Sample, Made]] = []
    for sample in samples:
        found = next(
            (
                m
                for m in composer.made
                if m.step == sample.step
                and m.template == sample.template
                and reader_of(m.to, people, scratch) == sample.reader
            ),
            None,
        )
        if found is None:
            missing.append(sample)
            continue
        eml, page = out / f"{sample.stem}.eml", out / f"{sample.stem}.html"
        eml.write_bytes(found.out.raw)
        page.write_text(html_part(found.out.raw), encoding="utf-8")
        written += [eml, page]
        rows.append((sample, found))
    index = out / "index.html"
    index.write_text(_index(rows, settings.council.name), encoding="utf-8")
    sampled = {s.template for s in samples}
    unsampled = tuple(t for t in template_folders(templates) if t not in sampled)
    problems = tuple(dict.fromkeys([*composer.failures, *played.problems]))
    return PreviewResult(tuple([*written, index]), tuple(missing), unsampled, problems)


def _index(rows: Sequence[tuple[Sample, Made]], council: str) -> str:
    """A page linking every example, with its subject and what it shows."""
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Mail preview: {html.escape(council)}</title></head>",
        '<body style="font-family: Arial, Helvetica, sans-serif; margin: 1em;">',
        f"<h1 style='font-size: 20px;'>Every kind of mail {html.escape(council)} sends, with sample data</h1>",
        "<table style='border-collapse: collapse;'>",
        "<tr><th align='left'>Mail</th><th align='left'>Reader</th><th align='left'>Subject</th>"
        "<th align='left'>Shows</th></tr>",
    ]
    for sample, made in rows:
        lines.append(
            f"<tr><td style='padding: 4px 8px;'><a href='{sample.stem}.html'>{html.escape(sample.template)}</a>"
            f" (<a href='{sample.stem}.eml'>.eml</a>)</td><td style='padding: 4px 8px;'>{sample.reader}</td>"
            f"<td style='padding: 4px 8px;'>{html.escape(made.out.subject)}</td>"
            f"<td style='padding: 4px 8px;'>{html.escape(sample.shows)}</td></tr>"
        )
    lines += ["</table>", "</body></html>", ""]
    return "\n".join(lines)


__all__ = ["READERS", "SAMPLES", "STORY", "PreviewResult", "RecordingComposer", "template_folders", "write_preview"]
