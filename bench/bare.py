"""The bare loop smat-intake is measured against: the least code that does the same visible work.

For each message: imap_tools fetch (BODY.PEEK, bulks of 20), stdlib parse, one INSERT of the
raw bytes into the same kind of database (SQLite or PostgreSQL, committed per message), then
the same four mails smat-intake sends for a draft over one smtplib connection: an
acknowledgement to the sender and a "review request" to each of three reviewers carrying the
draft's files as they came (encoded per mail, as naive code does); UID MOVE per bulk. No
screening, no picture cleaning, no history, no outbox.
"""

from __future__ import annotations

import smtplib
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import formatdate, make_msgid
from typing import Any

BULK = 20
BARE_FOLDER = "Bare"
OUR_ADDRESS = "smat.info@example.org"
REVIEWERS = ("clerk@example.org", "deputy@example.org", "sam@example.org")


class _Store:
    """One table of raw messages in SQLite or PostgreSQL."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            import sqlite3

            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.mark = "?"
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS bare (id INTEGER PRIMARY KEY, sender TEXT, subject TEXT, raw BLOB)"
            )
        else:
            import psycopg

            self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
            self.mark = "%s"
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS bare (id SERIAL PRIMARY KEY, sender TEXT, subject TEXT, raw BYTEA)"
            )
        self.conn.commit()

    def insert(self, sender: str, subject: str, raw: bytes) -> None:
        m = self.mark
        self.conn.execute(f"INSERT INTO bare (sender, subject, raw) VALUES ({m}, {m}, {m})", (sender, subject, raw))
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


def _mail(to: str, subject: str, text: str, reply_to_id: str = "") -> EmailMessage:
    out = EmailMessage()
    out["From"] = OUR_ADDRESS
    out["To"] = to
    out["Subject"] = subject
    out["Date"] = formatdate(localtime=True)
    out["Message-ID"] = make_msgid(domain="example.org")
    if reply_to_id:
        out["In-Reply-To"] = reply_to_id
    out.set_content(text)
    return out


def worker_bare(spec: dict[str, Any], rss: Any) -> dict[str, Any]:
    """Run the bare loop over INBOX; returns counts, seconds and peak RSS."""
    from imap_tools import MailBoxUnencrypted, MailMessage

    class KeepRaw(MailMessage):
        def __init__(self, fetch_data: list[Any]) -> None:
            super().__init__(fetch_data)
            self.raw = self._get_message_data_parts(fetch_data)[0]

    rss_start = rss()
    store = _Store(spec["database_url"])
    t0 = time.perf_counter()
    taken = sent = 0
    with MailBoxUnencrypted(spec["imap_host"], spec["imap_port"], timeout=60).login(
        spec["user"], spec["password"], initial_folder="INBOX"
    ) as mb:
        mb.email_message_class = KeepRaw
        if not mb.folder.exists(BARE_FOLDER):
            mb.folder.create(BARE_FOLDER)
        uids = mb.uids()
        smtp = smtplib.SMTP(spec["smtp_host"], spec["smtp_port"], timeout=60)
        try:
            for start in range(0, len(uids), BULK):
                chunk = uids[start : start + BULK]
                for fetched in mb.fetch(uid_list=chunk, mark_seen=False, bulk=True):
                    msg = message_from_bytes(fetched.raw, policy=default)
                    sender, subject = str(msg["From"] or ""), str(msg["Subject"] or "")
                    body = msg.get_body(("plain", "html"))
                    text = body.get_content() if body is not None else ""
                    store.insert(sender, subject, fetched.raw)
                    ack = _mail(
                        sender, f"Re: {subject}", "Thank you, your draft has been received.\n", msg["Message-ID"]
                    )
                    smtp.send_message(ack)
                    files = [
                        (p.get_filename() or "file", p.get_content_type(), p.get_payload(decode=True) or b"")
                        for p in msg.iter_attachments()
                    ]
                    for reviewer in REVIEWERS:
                        request = _mail(reviewer, f"Please review: {subject}", f"A new draft:\n\n{text}\n")
                        for name, kind, data in files:
                            maintype, _, subtype = kind.partition("/")
                            request.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
                        smtp.send_message(request)
                    taken += 1
                    sent += 1 + len(REVIEWERS)
                mb.move(chunk, BARE_FOLDER)
        finally:
            smtp.quit()
            store.close()
    seconds = time.perf_counter() - t0
    return {"taken": taken, "sent": sent, "seconds": seconds, "rss_start_kb": rss_start, "rss_peak_kb": rss()}
