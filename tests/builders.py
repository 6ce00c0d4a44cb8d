"""Build test messages and settings: drafts as real clients send them, and a small roster."""

from __future__ import annotations

import base64
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from intake import config

HERE = Path(__file__).resolve().parent
MESSAGES = HERE / "messages"
OUR_ADDRESS = "smat.info@example.org"

ROSTER = [
    {"name": "Town Clerk", "email": "clerk@example.org", "role": "clerk"},
    {"name": "Deputy Clerk", "email": "deputy@example.org", "role": "deputy_clerk"},
    {"name": "Sam Smat", "email": "sam@example.org", "role": "smat"},
    {"name": "Former Member", "email": "gone@example.org", "role": "smat", "active": False},
    {"name": "Cllr Jones", "email": "cllr.jones@example.org", "role": "councillor"},
    {"name": "Pat Staff", "email": "pat@example.org", "role": "staff"},
]
REVIEWERS = ["clerk@example.org", "deputy@example.org", "sam@example.org"]

# A 1x1 pixel JPEG: real image bytes, small enough to keep tests fast.
TINY_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////"
    "////////////////////////2wBDAf//////////////////////////////////////////////////////////////////"
    "////////////////////wAARCAABAAEDASIAAhEBAxEB/8QAFAABAAAAAAAAAAAAAAAAAAAAA//EABQQAQAAAAAAAAAAAAAA"
    "AAAAAAD/xAAUAQEAAAAAAAAAAAAAAAAAAAAA/8QAFBEBAAAAAAAAAAAAAAAAAAAAAP/aAAwDAQACEQMRAD8AN//Z"
)


def settings_for(
    tmp_path: Path,
    database_url: str,
    *,
    imap: Any = None,
    smtp: Any = None,
    listener_port: int | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    **sections: Any,
) -> config.Settings:
    """Settings as if read from tmp_path/config.toml: our roster, the given servers."""
    data: dict[str, Any] = {
        "council": {"name": "Testham Town Council", "phone": "01234 567890", "email": "office@example.org"},
        "mailbox": {"address": OUR_ADDRESS},
        "database": {"url": database_url},
        "outbox": {"folder": str(tmp_path / "outbox"), "retry_seconds": 1},
        "security": {"secret": "test-secret-0123456789abcdef"},
        "people": ROSTER,
    }
    if imap is not None:
        data["imap"] = {
            "host": imap.host,
            "port": imap.port,
            "security": "none",
            "username": imap.user,
            "password": imap.password,
            "poll_seconds": 5,
        }
    if smtp is not None:
        data["smtp"] = {"host": smtp.host, "port": smtp.port, "security": "none"}
    if listener_port is not None:
        data["listener"] = {"host": "127.0.0.1", "port": listener_port}
    for name, values in {**sections, **(overrides or {})}.items():
        data.setdefault(name, {}).update(values)
    return config.from_dict(data, tmp_path / "config.toml")


def draft(
    sender: str = "jane@example.com",
    subject: str = "Litter pick on Saturday",
    body: str = "Volunteers cleared the riverside path this morning. Thank you all!",
    name: str = "Jane Resident",
    photos: int = 0,
    **headers: str,
) -> bytes:
    """A plain-text draft as a mail client sends it, optionally with JPEG photos."""
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = OUR_ADDRESS
    msg["Subject"] = subject
    msg["Date"] = "Sat, 28 Nov 2026 10:00:00 +0000"
    msg["Message-ID"] = make_msgid(domain="example.com")
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    msg.set_content(body)
    for n in range(photos):
        msg.add_attachment(TINY_JPEG, maintype="image", subtype="jpeg", filename=f"photo-{n + 1}.jpg")
    return msg.as_bytes(policy=SMTP)


def golden(name: str) -> bytes:
    """One of the golden messages in tests/messages."""
    return (MESSAGES / name).read_bytes()


def winmail_draft(sender: str = "cllr.jones@example.org") -> bytes:
    """An Outlook draft whose body and files travel in winmail.dat (application/ms-tnef)."""
    msg = EmailMessage()
    msg["From"] = f"Cllr Jones <{sender}>"
    msg["To"] = OUR_ADDRESS
    msg["Subject"] = "Christmas lights switch-on"
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content("Please post the attached poster for the Christmas lights switch-on.")
    msg.add_attachment(
        (MESSAGES / "tnef" / "two-files.tnef").read_bytes(),
        maintype="application",
        subtype="ms-tnef",
        filename="winmail.dat",
    )
    return msg.as_bytes(policy=SMTP)


def auto_reply(to_subject: str = "Litter pick on Saturday", sender: str = "away@example.com") -> bytes:
    """An out-of-office reply, marked as RFC 3834 says."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = OUR_ADDRESS
    msg["Subject"] = f"Automatic reply: {to_subject}"
    msg["Auto-Submitted"] = "auto-replied"
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content("I am out of the office until Monday.")
    return msg.as_bytes(policy=SMTP)


def initialised_service(tmp_path: Path, database_url: str, **settings_options: Any):
    """A Service on a database brought to the newest migration, with settings from `settings_for`."""
    from intake.service import Service
    from intake.store.db import make_engine, upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    return Service.build(settings_for(tmp_path, database_url, **settings_options))
