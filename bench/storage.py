"""Storage: how much the database grows for photo drafts, against the bytes that arrived.

    .venv/bin/python bench/storage.py                 # 30 drafts, each with 1-3 different JPEGs of 200-800 KB

Each draft goes through the real pipeline (Service.ingest) to three reviewers; the database
is SQLite, checkpointed and measured before and after (file size), and the columns that grow
are summed as well. Target: growth <= 2 x the raw size of what arrived. Every photo's
pixels differ, so no copy is shared between drafts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from corpus import jpeg  # noqa: E402


def size(url: str) -> int:
    """The SQLite file's size after a checkpoint (the WAL folded in)."""
    import sqlite3

    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Path(path).stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--drafts", type=int, default=30)
    args = parser.parse_args()

    from sqlalchemy import text
    from support import make_service

    tmp = Path(tempfile.mkdtemp(prefix="smat-storage-"))
    url = f"sqlite:///{tmp / 'storage.db'}"
    service = make_service(tmp, url)
    before = size(url)
    arrived = 0
    for i in range(args.drafts):
        msg = EmailMessage()
        msg["From"] = f"Resident {i} <resident{i}@example.com>"
        msg["To"] = "smat.info@example.org"
        msg["Subject"] = f"Fun day photos {i}"
        msg.set_content("Photos from the fun day, for the council's page.")
        for n in range(1 + i % 3):
            width = 700 + 60 * ((i * 3 + n) % 8)  # about 200 to 800 KB of camera-like noise
            msg.add_attachment(jpeg(width, width * 3 // 4, i * 3 + n), maintype="image", subtype="jpeg")
        raw = msg.as_bytes(policy=SMTP)
        arrived += len(raw)
        service.ingest(raw, "file")
    service.deliver()  # the skeletons stay as they are once sent
    grown = size(url) - before
    with service.sessions() as session:
        columns = {
            name: int(session.execute(text(f"SELECT COALESCE(SUM(LENGTH({col})), 0) FROM {table}")).scalar_one())
            for name, (table, col) in {
                "raw messages": ("messages", "raw"),
                "files kept once (blobs)": ("blobs", "data"),
                "outgoing skeletons": ("outbox_bodies", "raw"),
            }.items()
        }
        mails = int(session.execute(text("SELECT COUNT(*) FROM outbox")).scalar_one())
    service.close()
    ratio = grown / arrived
    print(f"storage: {args.drafts} photo drafts, {arrived / 2**20:.1f} MB arrived, {mails} mails sent")
    print(
        f"  database file grew {grown / 2**20:.1f} MB = {ratio:.2f} x what arrived "
        f"(target <= 2: {'met' if ratio <= 2 else 'NOT MET'})"
    )
    for name, total in columns.items():
        print(f"    {name:26} {total / 2**20:7.2f} MB = {total / arrived:.2f} x")


if __name__ == "__main__":
    main()
