"""Latency: `run`, drafts sent one a second, from the send to the acknowledgement arriving at the SMTP sink.

    .venv/bin/python bench/latency.py                      # 50 drafts, listener and IDLE, SQLite and PostgreSQL
    .venv/bin/python bench/latency.py --drafts 10 --database sqlite --path idle   # a quick try

For each database and each path it starts `run` (intake.service.run in a fresh subprocess, on a
fresh database) with only that source configured, sends one warm-up draft (not counted: the
first mail compiles the templates), then N text drafts one a second:

- listener: each draft over a new SMTP connection to the built-in listener; target p95 <= 0.25 s.
- idle: each draft APPENDed to INBOX at the private Dovecot, which `run` watches with IMAP IDLE;
  target p95 <= Dovecot's own notification delay + 0.1 s (500 ms in its mailbox-watch code,
  NOTIFY_DELAY_MSECS). That delay is measured in the same run: right after each draft a small
  probe is APPENDed to a folder of its own, on which a bare imaplib client IDLEs; the time to
  its `* n EXISTS` is the delay, and "our share" = ours - that, draft by draft. Like `run`, the
  bare client ends its IDLE at each EXISTS and starts a new one (Dovecot re-arms its watch per
  IDLE). A client that stays in one IDLE hears of mail arriving once a second alternately after
  500 ms and at once: the sync after one notification changes the index, which starts a second
  500 ms timer that fires just as the next message lands. A bare client on INBOX itself would
  also see our MOVEs start such timers.

Latency = the sink's receive time of the acknowledgement (bench/sink.py, its own process) minus
the time just before the SMTP connection or the APPEND. Where the time goes comes from
timestamps the worker takes around the service's own calls (pipeline.ingest, each IMAP pass,
each delivery and each send to the relay; wrapped in the worker, intake/ is unchanged).
Percentiles are nearest-rank. All clocks are time.time() on one machine.
"""

from __future__ import annotations

import argparse
import imaplib
import json
import re
import shutil
import smtplib
import socket
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

from backlog import ROSTER  # noqa: E402  (the same three reviewers as the backlog benchmark)
from bare import OUR_ADDRESS  # noqa: E402
from latency_figures import first_after, report  # noqa: E402
from latency_worker import SENDER, worker  # noqa: E402

PROBE_FOLDER = "Probe"


def write_config(tmp: Path, name: str, url: str, path: str, dovecot: Any, sink: Any, listen_port: int) -> Path:
    """A config for one case: the sink as relay, three reviewers, and only the source under test."""
    from support import to_toml

    data: dict[str, Any] = {
        "council": {"name": "Benchmark Town Council", "phone": "01234 567890", "email": "office@example.org"},
        "mailbox": {"address": OUR_ADDRESS},
        "database": {"url": url},
        "outbox": {"folder": str(tmp / f"{name}-outbox"), "retry_seconds": 60},
        "smtp": {"host": sink.host, "port": sink.port, "security": "none"},
        "security": {"secret": "bench-secret-0123456789abcdef"},
        "intake": {"acknowledgements_per_hour": 1000, "automatic_replies_per_day": 1000},
    }
    if path == "listener":
        data["listener"] = {"host": "127.0.0.1", "port": listen_port, "protocol": "smtp"}
    else:
        data["imap"] = {
            "host": dovecot.host,
            "port": dovecot.port,
            "security": "none",
            "username": dovecot.user,
            "password": dovecot.password,
            "processed_folder": "Processed",
            "idle": True,
        }
    data["people"] = ROSTER
    config = tmp / f"{name}.toml"
    config.write_text(to_toml(data))
    return config


class IdleWatcher:
    """A bare imaplib client IDLEing on the probe folder: when each `* n EXISTS` arrives (Dovecot's own delay)."""

    def __init__(self, dovecot: Any) -> None:
        self.client = imaplib.IMAP4(dovecot.host, dovecot.port)
        self.client.login(dovecot.user, dovecot.password)
        self.client.create(PROBE_FOLDER)  # "NO [ALREADYEXISTS]" the second time: fine
        self.client.select(PROBE_FOLDER)
        self.client.send(b"W1 IDLE\r\n")
        first = self.client.readline()
        if not first.startswith(b"+"):
            raise RuntimeError(f"IDLE refused: {first!r}")
        self.exists: list[float] = []
        self.thread = threading.Thread(target=self._read, name="bare-idle", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        """Note each EXISTS, then DONE and a new IDLE, as `run` does after each pass."""
        tag = 1
        while True:
            try:
                line = self.client.readline()
                if not line:
                    return
                if re.match(rb"\* \d+ EXISTS", line):
                    self.exists.append(time.time())
                    self.client.send(b"DONE\r\n")
                    while not line.startswith(f"W{tag} ".encode()):  # the IDLE's tagged OK
                        line = self.client.readline()
                        if not line:
                            return
                    tag += 1
                    self.client.send(f"W{tag} IDLE\r\n".encode())
            except (OSError, ValueError):
                return

    def stop(self) -> None:
        """End the IDLE and the connection; the socket first, so the reading thread lets go of the file."""
        try:
            self.client.send(b"DONE\r\n")
            self.client.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(timeout=5)
        self.client.shutdown()


class Sender:
    """Hands one draft to the path under test; returns (time before, time the server said OK, probe sent at)."""

    def __init__(self, path: str, dovecot: Any, listen_port: int) -> None:
        self.path, self.listen_port = path, listen_port
        self.imap: imaplib.IMAP4 | None = None
        if path == "idle":
            self.imap = imaplib.IMAP4(dovecot.host, dovecot.port)
            self.imap.login(dovecot.user, dovecot.password)

    def send(self, raw: bytes, probe: bool = False) -> tuple[float, float, float]:
        t0 = time.time()
        if self.imap is not None:
            typ, data = self.imap.append("INBOX", None, None, raw)
            ok = time.time()
            if typ != "OK":
                raise RuntimeError(f"APPEND failed: {data!r}")
            if probe:
                typ, data = self.imap.append(PROBE_FOLDER, None, None, PROBE)
                if typ != "OK":
                    raise RuntimeError(f"APPEND of the probe failed: {data!r}")
            return t0, ok, ok
        with smtplib.SMTP("127.0.0.1", self.listen_port, local_hostname="bench.test") as smtp:
            smtp.sendmail("resident@example.com", [OUR_ADDRESS], raw)
            ok = time.time()
        return t0, ok, ok

    def close(self) -> None:
        if self.imap is not None:
            self.imap.logout()


PROBE = b"From: probe@example.com\r\nSubject: probe\r\n\r\nA probe for Dovecot's notification delay.\r\n"


def the_draft(i: int) -> bytes:
    """Text draft i (from resident{i}@example.com, so its acknowledgement can be told apart)."""
    import random

    from corpus import text_draft

    return text_draft(i, random.Random(i))


def wait_for(condition: Any, timeout: float, what: str, alive: Any = None) -> Any:
    """Poll a condition (no fixed sleeps); TimeoutError naming what did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if alive is not None and not alive():
            raise RuntimeError(f"the service died while waiting for {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {timeout} s")
        time.sleep(0.05)


def ack_time(arrivals: list[tuple[float, list[str]]], i: int, after: float) -> float | None:
    """When the acknowledgement to resident i arrived at the sink (first after `after`), if it has."""
    who = SENDER.format(i)
    times = [t for t, rcpts in arrivals if rcpts == [who] and t >= after]
    return min(times) if times else None


def run_case(
    name: str,
    url: str,
    path: str,
    drafts: range,
    interval: float,
    servers: tuple[Any, Any],
    tmp: Path,
    profile: bool = False,
) -> dict[str, Any]:
    """One `run` subprocess, one path: a warm-up draft, then the drafts one an `interval`; the raw times."""
    dovecot, sink = servers
    profile_file = tmp / f"{name}.profile"
    from servers import free_port

    port = free_port()
    config = write_config(tmp, name, url, path, dovecot, sink, port)
    subprocess.run(
        [sys.executable, "-m", "intake", "--config", str(config), "init"],
        check=True,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    events, log_path = tmp / f"{name}.jsonl", tmp / f"{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--worker",
                str(config),
                str(events),
                str(profile_file) if profile else "-",
            ],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    watcher = sender = None
    alive = lambda: proc.poll() is None  # noqa: E731
    try:
        wait_for(lambda: events.exists() and '"ready"' in events.read_text(), 60, "the service starting", alive)
        if path == "idle":  # after the first look (mail there before it is left alone), IDLE is next
            wait_for(lambda: '"pass_end"' in events.read_text(), 60, "the first IMAP pass", alive)
        else:
            wait_for(lambda: "listening for SMTP" in log_path.read_text(), 60, "the listener", alive)
        sender = Sender(path, dovecot, port)
        warm = drafts.start - 1  # one draft first, not counted: templates compile, connections open
        sent_at, _, _ = sender.send(the_draft(warm))
        wait_for(lambda: ack_time(sink.arrivals(), warm, sent_at), 60, "the warm-up acknowledgement", alive)
        if path == "idle":
            watcher = IdleWatcher(dovecot)
            probed = time.time()
            sender.imap.append(PROBE_FOLDER, None, None, PROBE)  # type: ignore[union-attr]
            wait_for(lambda: first_after(watcher.exists, probed), 10, "the first probe's EXISTS", alive)
        sends: dict[int, tuple[float, float, float]] = {}
        start = time.monotonic()
        for n, i in enumerate(drafts):
            pause = start + n * interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)  # the pacing of the drafts themselves, not a wait for a result
            sends[i] = sender.send(the_draft(i), probe=watcher is not None)

        def all_acknowledged() -> bool:
            arrivals = sink.arrivals()
            return all(ack_time(arrivals, i, sends[i][0]) for i in drafts)

        wait_for(all_acknowledged, 120, "every acknowledgement", alive)
    finally:
        if watcher is not None:
            watcher.stop()
        if sender is not None:
            sender.close()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    arrivals = sink.arrivals()
    return {
        "sends": sends,
        "acks": {i: ack_time(arrivals, i, sends[i][0]) for i in drafts},
        "events": [json.loads(line) for line in events.read_text().splitlines()],
        "exists": watcher.exists if watcher is not None else [],
        "profile": profile_file.read_text() if profile and profile_file.exists() else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--drafts", type=int, default=50)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between drafts (default 1)")
    parser.add_argument("--database", default="sqlite,postgresql", help="sqlite, postgresql or both (default)")
    parser.add_argument("--path", default="listener,idle", help="listener, idle or both (default)")
    parser.add_argument("--keep", action="store_true", help="keep the logs and event files (printed at the end)")
    parser.add_argument(
        "--profile", action="store_true", help="run each ingest under cProfile and print the top functions (slower)"
    )
    parser.add_argument("--worker", nargs=3, metavar=("CONFIG", "EVENTS", "PROFILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(Path(args.worker[0]), Path(args.worker[1]), Path(args.worker[2]) if args.worker[2] != "-" else None)
        return

    from servers import Dovecot, Postgres
    from sink import Sink

    sink = Sink(timed=True)  # first: it forks
    tmp = Path(tempfile.mkdtemp(prefix="smat-latency-"))
    dovecot = Dovecot().start()
    postgres = Postgres() if "postgresql" in args.database else None
    import os

    print(
        f"latency: `run`, {args.drafts} text drafts {args.interval:g} s apart per case "
        f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start)"
    )
    try:
        first = 1
        for db in args.database.split(","):
            for path in args.path.split(","):
                name = f"{db}-{path}"
                url = f"sqlite:///{tmp / f'{name}.db'}" if db == "sqlite" else str(postgres.create_database())  # type: ignore[union-attr]
                drafts = range(first + 1, first + 1 + args.drafts)
                raw = run_case(name, url, path, drafts, args.interval, (dovecot, sink), tmp, args.profile)
                report(f"{path}, {db}", path, raw, args.drafts)
                if raw["profile"]:
                    print(
                        f"  ingest under cProfile ({args.drafts} drafts + the warm-up; timings above inflated by it):"
                    )
                    print(raw["profile"])
                first += args.drafts + 10
    finally:
        dovecot.stop()
        sink.stop()
        if postgres is not None:
            postgres.drop_all()
        if args.keep:
            print(f"logs and events kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
