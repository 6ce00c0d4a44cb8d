"""Backlog benchmark: smat-intake against a bare loop doing the same visible work, in the same run.

    .venv/bin/python bench/backlog.py                          # 5000 drafts, text and realistic, SQLite and PostgreSQL
    .venv/bin/python bench/backlog.py --messages 200           # a quick try
    .venv/bin/python bench/backlog.py --corpus text --database sqlite --profile   # cProfile of smat-intake only

It starts a private Dovecot, an SMTP sink (its own process; bench/sink.py) and, for
PostgreSQL, fresh databases on the local server; APPENDs N drafts (bench/corpus.py) to INBOX
and then, for each database, runs in fresh subprocesses:

1. the bare loop (bench/bare.py): fetch, parse, one INSERT, the same four mails per draft;
2. smat-intake on the same messages (moved back to INBOX) as `run` does it: ImapSource.poll_once(backlog=True)
   with `run`'s sender process (intake/delivery/process.py) sending alongside, timed until the outbox is empty
   (an acknowledgement and three review requests per draft); `--sequential` takes in, then delivers,
   as `poll --once` does.

The figure is speed = bare seconds / smat-intake seconds (target >= 0.66). It also prints
peak RSS, the database's growth against the bytes taken in, and how many times a file was
base64-encoded. It asserts nothing beyond the counts. The machine is shared: compare the
ratios of one run, not the absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from bare import BARE_FOLDER, OUR_ADDRESS, worker_bare  # noqa: E402
from corpus import drafts  # noqa: E402

PROCESSED_FOLDER = "Processed"
ROSTER = [
    {"name": "Town Clerk", "email": "clerk@example.org", "role": "clerk"},
    {"name": "Deputy Clerk", "email": "deputy@example.org", "role": "deputy_clerk"},
    {"name": "Sam Smat", "email": "sam@example.org", "role": "smat"},
]
TARGET_SPEED = 0.66
TARGET_RSS_MB = 200


def maxrss_kb() -> int:
    """Peak resident set size of this process so far (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def settings_for(spec: dict[str, Any]) -> Any:
    """The benchmark council: our mailbox at the private Dovecot, the sink as relay, three reviewers."""
    from intake import config

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
        "intake": {"acknowledgements_per_hour": 1000, "automatic_replies_per_day": 1000},
        "people": ROSTER,
    }
    return config.from_dict(data, Path(spec["tmp"]) / "config.toml")


def servers_spec(dovecot: Any, sink: Any, tmp: Path) -> dict[str, Any]:
    """Where a worker finds the private Dovecot and the SMTP sink, and its folder (the spec's common part)."""
    return {
        "imap_host": dovecot.host,
        "imap_port": dovecot.port,
        "user": dovecot.user,
        "password": dovecot.password,
        "smtp_host": sink.host,
        "smtp_port": sink.port,
        "tmp": str(tmp),
    }


def database_bytes(url: str) -> int:
    """The size of the database: the SQLite files, or PostgreSQL's pg_database_size."""
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])


def sent_count(url: str) -> int:
    """How many outbox rows were sent (the overlapped run counts at the end)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM outbox WHERE status = 'sent'")).scalar_one()
    engine.dispose()
    return int(count)


def worker_smat(spec: dict[str, Any]) -> dict[str, Any]:
    """smat-intake as `run` does it (its sender process sending while the mailbox is read), or as `poll --once`."""
    import logging

    from intake.delivery.process import DeliveryProcess
    from intake.service import Service
    from intake.store.db import make_engine, upgrade

    logging.basicConfig(level=logging.WARNING)
    settings = settings_for(spec)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    db_before = database_bytes(settings.database_url)
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
    if spec.get("sequential"):  # `poll --once`: take everything in, then deliver
        report = source.poll_once(backlog=True)
        t1 = time.perf_counter()
        rss_intake = maxrss_kb()
        sent, waiting = service.deliver().sent, service.drain.waiting()
    else:  # `run`: its sender process sends while the mailbox is read
        stop = threading.Event()
        sender = DeliveryProcess(settings, service.log, service.linger_seconds)
        sender.start()
        forwarder = threading.Thread(target=sender.forward, args=(service.wake_delivery, stop), name="delivery")
        forwarder.start()
        report = source.poll_once(backlog=True)
        t1 = time.perf_counter()
        rss_intake = maxrss_kb()
        service.wake_delivery.set()
        while service.drain.waiting():
            time.sleep(0.02)
        stop.set()
        service.wake_delivery.set()
        forwarder.join()
        sender.stop()
        sent, waiting = sent_count(settings.database_url), 0
    t2 = time.perf_counter()
    if profiler:
        profiler.disable()
    # Counted where delivery ran: in `run`'s sender process the count stays there (tests/test_storage_once.py).
    encodings = service.drain.encoded.encodings if spec.get("sequential") else None
    service.close()
    result = {
        "taken": report.taken,
        "sent": sent,
        "waiting": waiting,
        "intake_seconds": t1 - t0,
        "delivery_seconds": t2 - t1,
        "seconds": t2 - t0,
        "rss_start_kb": rss_start,
        "rss_intake_kb": rss_intake,
        "rss_peak_kb": maxrss_kb(),
        "rss_sender_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,  # `run`'s sender process
        "db_growth": database_bytes(settings.database_url) - db_before,
        "encodings": encodings,
    }
    if profiler:
        import io
        import pstats

        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(30)
        result["profile"] = out.getvalue()
    return result


def run_worker(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """One worker in a fresh interpreter, so that each starts cold and its RSS is its own."""
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", kind, json.dumps(spec)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"the {kind} worker failed (exit {proc.returncode}); see above")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def append_backlog(dovecot: Any, kind: str, n: int) -> tuple[int, int]:
    """APPEND n drafts of a kind to INBOX over one connection; returns (count, total bytes)."""
    total = count = 0
    with dovecot.connect() as box:
        for raw in drafts(kind, n):
            typ, data = box.append(raw, "INBOX")
            if typ != "OK":
                raise RuntimeError(f"APPEND failed: {data!r}")
            total += len(raw)
            count += 1
    return count, total


def move_back(dovecot: Any, folder: str) -> int:
    """UID MOVE every message of `folder` back to INBOX."""
    with dovecot.connect(initial_folder=None) as box:
        box.folder.set(folder)
        uids = sorted(int(u) for u in box.uids())
        for start in range(0, len(uids), 500):
            chunk = ",".join(str(u) for u in uids[start : start + 500])
            typ, data = box.client.uid("MOVE", chunk, "INBOX")
            if typ != "OK":
                raise RuntimeError(f"UID MOVE failed: {data!r}")
    return len(uids)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def run_one(
    base: dict[str, Any], url: str, label: str, n: int, raw_bytes: int, dovecot: Any, sink: Any
) -> dict[str, Any]:
    """The bare loop then smat-intake on the same N messages and database kind; prints and returns the figures."""
    before = sink.count()
    bare = run_worker("bare", {**base, "database_url": url})
    mid = sink.count()
    if move_back(dovecot, BARE_FOLDER) != n:
        raise SystemExit("the bare loop did not move every message")
    smat = run_worker("smat", {**base, "database_url": url})
    after = sink.count()
    move_back(dovecot, PROCESSED_FOLDER)
    speed = bare["seconds"] / smat["seconds"]
    smat_sent = after[0] - mid[0]
    print(
        f"  {label:28} bare {bare['seconds']:7.1f} s ({n / bare['seconds']:6.1f}/s, {mid[0] - before[0]} mails)  "
        f"smat-intake {smat['seconds']:7.1f} s ({n / smat['seconds']:6.1f}/s: intake {smat['intake_seconds']:.1f} s, "
        f"delivery {'after' if base.get('sequential') else 'left after it'} {smat['delivery_seconds']:.1f} s, "
        f"{smat_sent} mails)"
    )
    print(f"  {'':28} speed {speed:5.2f} of the bare loop (target >= {TARGET_SPEED}): {verdict(speed >= TARGET_SPEED)}")
    rss, sender_rss = smat["rss_peak_kb"] / 1024, smat["rss_sender_kb"] / 1024
    print(
        f"  {'':28} peak RSS {rss:.0f} MB (its sender process {sender_rss:.0f} MB, pages forked from the first "
        f"counted in both; bare {bare['rss_peak_kb'] / 1024:.0f} MB; target <= {TARGET_RSS_MB} MB a process: "
        f"{verdict(max(rss, sender_rss) <= TARGET_RSS_MB)}); "
        f"database grew {smat['db_growth'] / 2**20:.1f} MB = "
        f"{smat['db_growth'] / raw_bytes:.2f} x the {raw_bytes / 2**20:.1f} MB taken in; "
        + (
            f"files base64-encoded {smat['encodings']} times"
            if smat["encodings"] is not None
            else "files encoded in the sender process (not counted here)"
        )
    )
    if smat["taken"] != n or smat["waiting"]:
        print(f"  WARNING: smat-intake took in {smat['taken']} of {n}; {smat['waiting']} mails still waiting")
    return {"bare": bare, "smat": smat, "speed": speed}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000, help="backlog size N (default 5000)")
    parser.add_argument("--corpus", default="text,realistic", help="text, realistic or both (default)")
    parser.add_argument("--database", default="sqlite,postgresql", help="sqlite, postgresql or both (default)")
    parser.add_argument(
        "--profile", action="store_true", help="only smat-intake, under cProfile (first corpus and database)"
    )
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="as `poll --once` (take in, then deliver) instead of as `run` (its sender process alongside)",
    )
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "JSON"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        kind, spec = args.worker[0], json.loads(args.worker[1])
        result = worker_bare(spec, maxrss_kb) if kind == "bare" else worker_smat(spec)
        print(json.dumps(result))
        return

    from servers import Dovecot, Postgres
    from sink import Sink

    n = args.messages
    sink = Sink()  # first: it forks
    tmp = Path(tempfile.mkdtemp(prefix="smat-bench-"))
    dovecot = Dovecot().start()
    postgres = Postgres() if "postgresql" in args.database else None
    try:
        base = {**servers_spec(dovecot, sink, tmp), "sequential": args.sequential}
        print(
            f"backlog: {n} drafts per corpus; speed = bare loop seconds / smat-intake seconds, same run "
            f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start)"
        )
        for kind in args.corpus.split(","):
            t0 = time.perf_counter()
            count, raw_bytes = append_backlog(dovecot, kind, n)
            print(
                f"{kind} drafts: {count}, {raw_bytes / 2**20:.1f} MB "
                f"(APPEND took {time.perf_counter() - t0:.0f} s, not measured)"
            )
            for db in args.database.split(","):
                if db == "sqlite":
                    url = f"sqlite:///{tmp / f'{kind}-{db}.db'}"
                else:
                    assert postgres is not None
                    url = str(postgres.create_database())
                if args.profile:
                    result = run_worker("smat", {**base, "database_url": url, "profile": True})
                    print(f"smat-intake under cProfile: {result['taken']} in {result['seconds']:.1f} s")
                    print(result["profile"])
                    return
                run_one(base, url, f"{kind}, {db}", count, raw_bytes, dovecot, sink)
            with dovecot.connect() as box:  # empty INBOX for the next corpus, a few hundred at a time
                uids = box.uids()
                for start in range(0, len(uids), 500):
                    box.delete(uids[start : start + 500])
    finally:
        dovecot.stop()
        sink.stop()
        if postgres is not None:
            postgres.drop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
