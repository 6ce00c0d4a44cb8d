"""Memory: peak RSS of taking in a big backlog (poll --once --backlog, then delivery) at 5,000 and 20,000 messages.

    .venv/bin/python bench/memory.py                                 # 5,000 realistic, then 20,000 text, SQLite
    .venv/bin/python bench/memory.py --runs 500:text --budget 120    # a quick try

For each run (N:corpus) it starts a fresh private Dovecot, writes N drafts (bench/corpus.py)
straight into its Maildir (as bench/idle.py does: APPENDing 20,000 would take longer than the
run), lets Dovecot index them (not measured), and runs the worker of bench/backlog.py in a fresh
process: ImapSource.poll_once(backlog=True), then Service.deliver() to the counting SMTP sink,
on a fresh SQLite database. While it runs, this process reads the worker's resident set size
from /proc every half second beside how far it has got (its progress log line, then the sink's
count), so the figures say whether memory stays flat as the backlog goes by, not only its peak.
Target: peak RSS <= 200 MB at both sizes. `--budget` stops a run that takes longer than that
many seconds and reports what it reached. It asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

TARGET_RSS_MB = 200
_TAKEN = re.compile(r"taken in (\d+) of (\d+)")


def rss_mb(pid: int) -> float | None:
    """The process's resident set size now (VmRSS), in MB; None once it has gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(found.group(1)) / 1024 if found else None


def taken_so_far(log: Path) -> int:
    """The count in the worker's last progress line ("taken in N of M"), 0 before the first."""
    found = _TAKEN.findall(log.read_text(errors="replace")) if log.exists() else []
    return int(found[-1][0]) if found else 0


def worker(spec: dict[str, Any]) -> None:
    """bench/backlog.py's smat-intake worker, with the progress lines (every 5 s) on stderr."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    for quiet in ("intake.pipeline", "intake.delivery", "alembic", "apscheduler"):
        logging.getLogger(quiet).setLevel(logging.WARNING)
    from backlog import worker_smat

    print(json.dumps(worker_smat(spec)))


def run_one(n: int, kind: str, sink: Any, tmp: Path, budget: float) -> None:
    """One backlog of n drafts of a kind: fill, index, take in and deliver while sampling RSS; print the figures."""
    from backlog import servers_spec
    from idle import fill_maildir
    from servers import Dovecot

    dovecot = Dovecot().start()
    try:
        t0 = time.monotonic()
        raw_bytes = fill_maildir(dovecot, kind, n)
        with dovecot.connect() as box:  # Dovecot indexes the new files once, outside the measure
            present = len(box.uids())
        print(
            f"{n} {kind} drafts, {raw_bytes / 2**20:.0f} MB, written into the Maildir and indexed in "
            f"{time.monotonic() - t0:.0f} s (not measured); {present} in INBOX"
        )
        spec = {**servers_spec(dovecot, sink, tmp), "database_url": f"sqlite:///{tmp / f'memory-{kind}-{n}.db'}"}
        log = tmp / f"memory-{kind}-{n}.log"
        sent_before = sink.count()[0]
        with open(log, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        started = time.monotonic()
        samples: list[tuple[float, int, int, float]] = []  # (seconds, taken, mails delivered, RSS MB)
        stopped = False
        while proc.poll() is None:
            rss = rss_mb(proc.pid)
            if rss is not None:
                samples.append((time.monotonic() - started, taken_so_far(log), sink.count()[0] - sent_before, rss))
            if time.monotonic() - started > budget:
                proc.terminate()
                stopped = True
                break
            time.sleep(0.5)  # the sampling interval
        out, _ = proc.communicate(timeout=60)
        result = json.loads(out.strip().splitlines()[-1]) if not stopped and proc.returncode == 0 else None
        report(n, kind, samples, result, log, stopped, budget, proc.returncode)
    finally:
        dovecot.stop()


def report(
    n: int,
    kind: str,
    samples: list[tuple[float, int, int, float]],
    result: dict[str, Any] | None,
    log: Path,
    stopped: bool,
    budget: float,
    code: int | None,
) -> None:
    """The peak beside the target, and the RSS as the backlog went by."""
    if not samples:
        print(f"  no samples: the worker ended at once (exit {code}); see {log}")
        return
    sampled_peak = max(s[3] for s in samples)
    taken = samples[-1][1]
    if result is not None:
        peak = result["rss_peak_kb"] / 1024
        print(
            f"  took in {result['taken']} in {result['intake_seconds']:.0f} s, delivered {result['sent']} mails in "
            f"{result['delivery_seconds']:.0f} s; peak RSS {peak:.0f} MB (ru_maxrss; {sampled_peak:.0f} MB sampled, "
            f"{result['rss_start_kb'] / 1024:.0f} MB after start-up, {result['rss_intake_kb'] / 1024:.0f} MB peak by "
            f"the end of intake); target <= {TARGET_RSS_MB} MB: {'met' if peak <= TARGET_RSS_MB else 'NOT MET'}"
        )
    else:
        how = f"stopped at the {budget:.0f} s budget" if stopped else f"the worker failed (exit {code}); see {log}"
        print(
            f"  {how} after taking in about {taken} of {n}: peak RSS sampled {sampled_peak:.0f} MB "
            f"(target <= {TARGET_RSS_MB} MB: {'met so far' if sampled_peak <= TARGET_RSS_MB else 'NOT MET'})"
        )
    marks = []
    for share in (0.1, 0.25, 0.5, 0.75, 1.0):
        want = share * n
        at = next((s for s in samples if s[1] >= want), None)
        if at is not None:
            marks.append(f"{at[1]}: {at[3]:.0f} MB")
    delivering = [s for s in samples if s[2] > 0]
    if delivering:
        marks.append(f"delivering ({delivering[-1][2]} mails): {max(s[3] for s in delivering):.0f} MB")
    print(f"  RSS as the backlog went by (taken in so far: RSS): {'; '.join(marks) or '(no progress lines)'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--runs", default="5000:realistic,20000:text", help="N:corpus,... (default 5000:realistic,20000:text)"
    )
    parser.add_argument("--budget", type=float, default=1800, help="seconds one run may take (default 1800)")
    parser.add_argument("--worker", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return

    from sink import Sink

    sink = Sink()  # first: it forks
    tmp = Path(tempfile.mkdtemp(prefix="smat-memory-"))
    print(
        f"memory: a backlog taken in (poll --once --backlog) and delivered, SQLite; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start"
    )
    try:
        for run in args.runs.split(","):
            count, kind = run.split(":")
            run_one(int(count), kind, sink, tmp, args.budget)
    finally:
        sink.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
