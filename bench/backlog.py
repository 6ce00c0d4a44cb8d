"""Backlog benchmark: smat-intake against a bare fetch-and-send loop, and its memory.

    .venv/bin/python bench/backlog.py                    # 2000 messages with a 200 KB photo each
    .venv/bin/python bench/backlog.py --messages 200     # a quick try
    .venv/bin/python bench/backlog.py --messages 300 --profile   # cProfile of the smat-intake run

It starts a private Dovecot and an SMTP sink (tests/servers.py; the sink runs in its own
process so that receiving mail does not compete with the measured code for the GIL),
APPENDs N drafts with a photo to INBOX, then runs, each in a fresh subprocess:

1. the bare loop: imap_tools fetch with BODY.PEEK in bulks of 20, one small reply per
   message over one smtplib connection, UID MOVE of each bulk to another folder;
2. smat-intake on the same N messages (moved back to INBOX): ImapSource.poll_once(backlog=True)
   then Service.deliver() (1 acknowledgement + 3 review requests with the photo per draft);
3. smat-intake again on N/4 of them, only to compare peak RSS at two backlog sizes.

It prints figures; it is not a test and asserts nothing beyond the counts.
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

OUR_ADDRESS = "smat.info@example.org"
BULK = 20
BARE_FOLDER = "Bare"
PROCESSED_FOLDER = "Processed"
ROSTER = [
    {"name": "Town Clerk", "email": "clerk@example.org", "role": "clerk"},
    {"name": "Deputy Clerk", "email": "deputy@example.org", "role": "deputy_clerk"},
    {"name": "Sam Smat", "email": "sam@example.org", "role": "smat"},
]


def maxrss_kb() -> int:
    """Peak resident set size of this process so far (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def current_rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


# --------------------------------------------------------------------------------------
# the messages
# --------------------------------------------------------------------------------------


def make_message(i: int, photo_kb: int, rng: random.Random) -> bytes:
    """A draft from a resident with one photo (random bytes declared image/jpeg), CRLF lines."""
    photo = base64.encodebytes(rng.randbytes(photo_kb * 1024)).replace(b"\n", b"\r\n")
    boundary = f"=_bench_{i:06d}_boundary"
    head = (
        f"From: Resident {i} <resident{i}@example.com>\r\n"
        f"To: {OUR_ADDRESS}\r\n"
        f"Subject: Draft post {i}: litter pick on the riverside\r\n"
        f"Date: {formatdate(localtime=False)}\r\n"
        f"Message-ID: <bench-{i}-{rng.getrandbits(48):x}@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        f"Draft number {i} for the council's page.\r\n"
        "Volunteers cleared the riverside path this morning. Thank you all!\r\n"
        "Photo attached.\r\n"
        "\r\n"
        f"--{boundary}\r\n"
        f'Content-Type: image/jpeg; name="photo-{i}.jpg"\r\n'
        f'Content-Disposition: attachment; filename="photo-{i}.jpg"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
    ).encode()
    return head + photo + f"--{boundary}--\r\n".encode()


# --------------------------------------------------------------------------------------
# the SMTP sink, in its own process, counting instead of keeping (N x 4 photos would not fit)
# --------------------------------------------------------------------------------------


def _sink_main(conn) -> None:  # runs in the forked sink process
    from servers import SmtpSink

    class CountingSink(SmtpSink):
        def __init__(self) -> None:
            super().__init__()
            self.count = 0
            self.bytes = 0
            self.lock = threading.Lock()

        def _capture(self, item) -> None:
            with self.lock:
                self.count += 1
                self.bytes += len(item.data)

    sink = CountingSink().start()
    conn.send(sink.port)
    while True:
        command = conn.recv()
        if command == "count":
            with sink.lock:
                conn.send((sink.count, sink.bytes))
        else:
            sink.stop()
            conn.send(None)
            return


class Sink:
    def __init__(self) -> None:
        ctx = mp.get_context("fork")  # forked before this process starts any thread
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_sink_main, args=(child,), daemon=True)
        self.proc.start()
        self.port = self.conn.recv()
        self.host = "127.0.0.1"

    def count(self) -> tuple[int, int]:
        self.conn.send("count")
        return self.conn.recv()

    def stop(self) -> None:
        if self.proc.is_alive():
            self.conn.send("stop")
            self.conn.recv()
            self.proc.join(timeout=10)


# --------------------------------------------------------------------------------------
# workers (each run in a fresh subprocess: `backlog.py --worker JSON`)
# --------------------------------------------------------------------------------------


def worker_bare(spec: dict) -> dict:
    """The bare loop: fetch PEEK in bulks of 20, reply to each over one SMTP connection, move the bulk.

    With spec["forward_to"], each draft is also sent as fetched (photo and all) to those
    addresses: the same number and size of messages as smat-intake sends, at no rendering cost.
    """
    from imap_tools import MailBoxUnencrypted, MailMessage

    class KeepRaw(MailMessage):
        def __init__(self, fetch_data: list) -> None:
            super().__init__(fetch_data)
            self.raw = self._get_message_data_parts(fetch_data)[0]

    forward_to = spec.get("forward_to") or []
    rss_start = maxrss_kb()
    t0 = time.perf_counter()
    taken = sent = 0
    with MailBoxUnencrypted(spec["imap_host"], spec["imap_port"], timeout=30).login(
        spec["user"], spec["password"], initial_folder="INBOX"
    ) as mb:
        mb.email_message_class = KeepRaw
        if not mb.folder.exists(BARE_FOLDER):
            mb.folder.create(BARE_FOLDER)
        uids = mb.uids()
        smtp = smtplib.SMTP(spec["smtp_host"], spec["smtp_port"], timeout=30)
        try:
            for start in range(0, len(uids), BULK):
                chunk = uids[start : start + BULK]
                for msg in mb.fetch(uid_list=chunk, mark_seen=False, bulk=True):
                    reply = EmailMessage()
                    reply["From"] = OUR_ADDRESS
                    reply["To"] = msg.from_
                    reply["Subject"] = f"Re: {msg.subject}"
                    reply["Date"] = formatdate(localtime=True)
                    reply["Message-ID"] = make_msgid(domain="example.org")
                    reply["In-Reply-To"] = msg.headers.get("message-id", ("",))[0]
                    reply.set_content("Thank you, your draft has been received and will be reviewed.\n")
                    smtp.send_message(reply)
                    taken += 1
                    sent += 1
                    for address in forward_to:
                        smtp.sendmail(OUR_ADDRESS, [address], msg.raw)
                        sent += 1
                mb.move(chunk, BARE_FOLDER)
        finally:
            smtp.quit()
    seconds = time.perf_counter() - t0
    return {"taken": taken, "sent": sent, "seconds": seconds, "rss_start_kb": rss_start, "rss_peak_kb": maxrss_kb()}


def worker_smat(spec: dict) -> dict:
    """smat-intake: poll_once(backlog=True), then deliver(); timed separately."""
    import logging

    from intake import config
    from intake.service import Service
    from intake.store.db import make_engine, upgrade

    logging.basicConfig(level=logging.WARNING)
    tmp = Path(spec["tmp"])
    data = {
        "council": {"name": "Benchmark Town Council", "phone": "01234 567890", "email": "office@example.org"},
        "mailbox": {"address": OUR_ADDRESS},
        "database": {"url": spec["database_url"]},
        "imap": {
            "host": spec["imap_host"],
            "port": spec["imap_port"],
            "security": "none",
            "username": spec["user"],
            "password": spec["password"],
            "processed_folder": PROCESSED_FOLDER,
        },
        "smtp": {"host": spec["smtp_host"], "port": spec["smtp_port"], "security": "none"},
        "security": {"secret": "bench-secret-0123456789abcdef"},
        "people": ROSTER,
    }
    settings = config.from_dict(data, tmp / "config.toml")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    service = Service.build(settings)
    source = service.imap_source()
    assert source is not None

    profiler = None
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
    rss_start = maxrss_kb()
    if profiler:
        profiler.enable()
    t0 = time.perf_counter()
    report = source.poll_once(backlog=True)
    t1 = time.perf_counter()
    rss_intake = maxrss_kb()
    delivery = service.deliver()
    t2 = time.perf_counter()
    if profiler:
        profiler.disable()
    rss_end = maxrss_kb()
    service.close()

    result = {
        "taken": report.taken,
        "duplicates": report.duplicates,
        "moved": report.moved,
        "sent": delivery.sent,
        "deferred": delivery.deferred,
        "failed": delivery.failed,
        "waiting": delivery.waiting,
        "intake_seconds": t1 - t0,
        "delivery_seconds": t2 - t1,
        "rss_start_kb": rss_start,
        "rss_intake_kb": rss_intake,
        "rss_peak_kb": rss_end,
        "rss_now_kb": current_rss_kb(),
    }
    if spec["database_url"].startswith("sqlite:///"):
        db = Path(spec["database_url"].removeprefix("sqlite:///"))
        result["db_bytes"] = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    if profiler:
        import io
        import pstats

        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
        stats.sort_stats("cumulative").print_callees(r"deliver_due|_new_item|\(_ingest\)")
        result["profile"] = out.getvalue()
    return result


def run_worker(kind: str, spec: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", kind, json.dumps(spec)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=None,  # the worker's warnings and tracebacks go straight to our stderr
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"the {kind} worker failed (exit {proc.returncode}); see above")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------
# the mailbox between runs
# --------------------------------------------------------------------------------------


def append_backlog(dovecot, n: int, photo_kb: int) -> tuple[float, int]:
    """APPEND n drafts to INBOX over one connection; returns (seconds, bytes of one message)."""
    rng = random.Random(20260)
    size = 0
    t0 = time.perf_counter()
    with dovecot.connect() as mb:
        for i in range(1, n + 1):
            raw = make_message(i, photo_kb, rng)
            size = len(raw)
            typ, data = mb.append(raw, "INBOX")
            if typ != "OK":
                raise RuntimeError(f"APPEND failed: {data!r}")
    return time.perf_counter() - t0, size


def move_back(dovecot, folder: str, limit: int | None = None) -> int:
    """UID MOVE the first `limit` (or all) messages of `folder` back to INBOX."""
    with dovecot.connect(initial_folder=None) as mb:
        mb.folder.set(folder)
        uids = sorted(int(u) for u in mb.uids())
        if limit is not None:
            uids = uids[:limit]
        for start in range(0, len(uids), 500):
            chunk = ",".join(str(u) for u in uids[start : start + 500])
            typ, data = mb.client.uid("MOVE", chunk, "INBOX")
            if typ != "OK":
                raise RuntimeError(f"UID MOVE failed: {data!r}")
    return len(uids)


# --------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------


def mb(kb: float) -> str:
    return f"{kb / 1024:7.1f} MB"


def rate(n: float, s: float) -> str:
    return f"{n / s:8.1f}" if s > 0 else "       -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="backlog size N (default 2000)")
    parser.add_argument("--photo-kb", type=int, default=200, help="size of each photo in KB (default 200)")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL URL to use instead of a fresh SQLite file per run "
        "(reused by both smat-intake runs; give an empty database)",
    )
    parser.add_argument("--profile", action="store_true", help="only run smat-intake on N messages under cProfile")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "JSON"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        kind, spec = args.worker[0], json.loads(args.worker[1])
        result = worker_bare(spec) if kind == "bare" else worker_smat(spec)
        print(json.dumps(result))
        return

    from servers import Dovecot

    n = args.messages
    quarter = max(1, n // 4)
    sink = Sink()  # first: it forks
    tmp = Path(tempfile.mkdtemp(prefix="smat-bench-"))
    dovecot = Dovecot().start()
    try:
        base = {
            "imap_host": dovecot.host,
            "imap_port": dovecot.port,
            "user": dovecot.user,
            "password": dovecot.password,
            "smtp_host": sink.host,
            "smtp_port": sink.port,
            "tmp": str(tmp),
        }

        def smat_spec(label: str, profile: bool = False) -> dict:
            url = args.database_url or f"sqlite:///{tmp / label}.db"
            return {**base, "database_url": url, "profile": profile}

        append_s, size = append_backlog(dovecot, n, args.photo_kb)
        db_kind = "PostgreSQL" if args.database_url else "SQLite (fresh file per run)"
        print(
            f"smat-intake backlog benchmark: {n} messages of {size / 1024:.0f} KB "
            f"({args.photo_kb} KB photo), database {db_kind}"
        )
        print(
            f"setup: APPEND of {n} messages over one connection took {append_s:.1f} s "
            f"({n / append_s:.0f} msgs/s); not part of the comparison"
        )

        if args.profile:
            result = run_worker("smat", smat_spec("profile", profile=True))
            print(
                f"smat-intake under cProfile: took in {result['taken']} in {result['intake_seconds']:.1f} s, "
                f"sent {result['sent']} in {result['delivery_seconds']:.1f} s"
            )
            print(result["profile"])
            return

        sent0, bytes0 = sink.count()
        bare = run_worker("bare", base)
        sentA, bytesA = sink.count()
        moved = move_back(dovecot, BARE_FOLDER)
        assert moved == n, f"expected {n} messages back in INBOX, moved {moved}"
        bare_fwd = run_worker("bare", {**base, "forward_to": [p["email"] for p in ROSTER]})
        sent1, bytes1 = sink.count()
        move_back(dovecot, BARE_FOLDER)

        full = run_worker("smat", smat_spec("full"))
        sent2, bytes2 = sink.count()
        if full["taken"] != n or full["sent"] != sent2 - sent1:
            print(
                f"WARNING: smat-intake took in {full['taken']} of {n} and sent {full['sent']} "
                f"(sink received {sent2 - sent1}); waiting {full['waiting']}",
                file=sys.stderr,
            )

        move_back(dovecot, PROCESSED_FOLDER, quarter)
        small = run_worker("smat", smat_spec("quarter"))
    finally:
        dovecot.stop()
        sink.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    bare_s, fwd_s = bare["seconds"], bare_fwd["seconds"]
    bare_sent, fwd_sent = sentA - sent0, sent1 - sentA
    smat_in_s, smat_out_s = full["intake_seconds"], full["delivery_seconds"]
    smat_s = smat_in_s + smat_out_s
    smat_sent = sent2 - sent1
    bare_mb, fwd_mb, smat_mb = (bytesA - bytes0) / 2**20, (bytes1 - bytesA) / 2**20, (bytes2 - bytes1) / 2**20

    print()
    print(f"{'':30} {'msgs in':>8} {'sent':>7} {'sent MB':>8} {'seconds':>8} {'in/s':>8} {'sent/s':>8}")
    rows = [
        ("bare loop, 1 small reply", bare["taken"], bare_sent, bare_mb, bare_s),
        ("bare loop, reply + 3 forwards", bare_fwd["taken"], fwd_sent, fwd_mb, fwd_s),
        ("smat-intake: intake (IMAP)", full["taken"], 0, 0.0, smat_in_s),
        ("smat-intake: delivery (SMTP)", 0, smat_sent, smat_mb, smat_out_s),
        ("smat-intake: total", full["taken"], smat_sent, smat_mb, smat_s),
    ]
    for label, taken, sent, sent_mb, seconds in rows:
        print(
            f"{label:30} {taken:8d} {sent:7d} {sent_mb:8.1f} {seconds:8.2f} "
            f"{rate(taken, seconds) if taken else '       -'} {rate(sent, seconds) if sent else '       -'}"
        )
    print()
    print("smat-intake (total) against each bare loop, same run:")
    for label, b_s, b_sent, b_mb in (
        ("1 small reply", bare_s, bare_sent, bare_mb),
        ("reply + 3 forwards", fwd_s, fwd_sent, fwd_mb),
    ):
        print(
            f"  vs {label:19} time for the backlog {smat_s / b_s:5.2f}x (smat-intake {n / smat_s:.1f} msgs/s = "
            f"{b_s / smat_s:.0%} of {n / b_s:.1f})",
            end="",
        )
        if b_sent and smat_sent:
            print(f"; per message sent {(smat_s / smat_sent) / (b_s / b_sent):5.2f}x", end="")
        if b_mb > 1 and smat_mb:  # per MB means nothing against a loop that sends only short replies
            print(f"; per MB sent {(smat_s / smat_mb) / (b_s / b_mb):5.2f}x", end="")
        print()
    print(
        f"  smat-intake split: intake {smat_in_s / n * 1000:.1f} ms per message taken in, "
        f"delivery {smat_out_s / max(smat_sent, 1) * 1000:.1f} ms per message sent"
    )
    print()
    print("peak RSS (ru_maxrss) of the worker process; growth = peak - peak before the first fetch")
    print(f"{'':34} {'msgs':>6} {'start':>10} {'after intake':>13} {'after delivery':>15} {'growth':>10}")
    for label, r, count in (
        ("smat-intake, N/4", small, small["taken"]),
        ("smat-intake, N", full, full["taken"]),
        ("bare loop (1 reply), N", bare, bare["taken"]),
        ("bare loop (+3 forwards), N", bare_fwd, bare_fwd["taken"]),
    ):
        after_intake = mb(r["rss_intake_kb"]) if "rss_intake_kb" in r else "          -"
        print(
            f"{label:34} {count:6d} {mb(r['rss_start_kb']):>10} {after_intake:>13} {mb(r['rss_peak_kb']):>15} "
            f"{'+' + mb(r['rss_peak_kb'] - r['rss_start_kb']).strip():>10}"
        )
    growth_small = small["rss_peak_kb"] - small["rss_start_kb"]
    growth_full = full["rss_peak_kb"] - full["rss_start_kb"]
    if small["taken"]:
        print(
            f"growth at N vs N/4: {growth_full / max(growth_small, 1):.2f}x for {full['taken'] / small['taken']:.0f}x the messages"
        )
    if "db_bytes" in full:
        print(
            f"SQLite database after N: {full['db_bytes'] / 2**20:.0f} MB "
            f"({full['db_bytes'] / max(full['taken'], 1) / 1024:.0f} KB per message taken in, message {size / 1024:.0f} KB)"
        )


if __name__ == "__main__":
    main()
