"""Idle costs: a poll with nothing new on a big mailbox against an empty one, and `run` waiting for mail.

    .venv/bin/python bench/idle.py                    # 20,000 messages, 30 s of idle `run`
    .venv/bin/python bench/idle.py --messages 2000 --idle-seconds 10   # a quick try

1. A poll (connect, log in, look, log out) of an empty INBOX, then of an INBOX holding N
   messages that were there when smat-intake first looked (left alone, as on installation),
   median of 15 each; target: the big one <= 1.5 x the empty one.
2. `smat-intake run` against the empty mailbox with IMAP IDLE and the SMTP listener, after it
   settles: CPU seconds used over the window, as a share of one core; target < 1 %.

The messages are written straight into Dovecot's Maildir (fast), not APPENDed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from corpus import drafts  # noqa: E402


def maildir_cur(dovecot: object) -> Path:
    """The INBOX's `cur` folder of the test user (created if Dovecot has not yet): mail already seen there."""
    base = Path(dovecot.base)  # type: ignore[attr-defined]
    folder = base / "mail" / dovecot.user / "Maildir" / "cur"  # type: ignore[attr-defined]
    for sub in ("new", "cur", "tmp"):
        (folder.parent / sub).mkdir(parents=True, exist_ok=True)
    return folder


def fill_maildir(dovecot: object, kind: str, n: int) -> int:
    """Write n drafts into INBOX as Maildir files; returns the bytes written."""
    folder = maildir_cur(dovecot)
    total = 0
    for i, raw in enumerate(drafts(kind, n)):
        (folder / f"{1_700_000_000 + i}.M{i}P{os.getpid()}.bench:2,S").write_bytes(raw)
        total += len(raw)
    os.system(f"chmod -R a+rwX {folder.parent}")  # Dovecot runs as nobody here
    return total


def poll_seconds(source: object, times: int) -> float:
    """Median seconds of `times` polls."""
    seen = []
    for _ in range(times):
        t0 = time.perf_counter()
        source.poll_once()  # type: ignore[attr-defined]
        seen.append(time.perf_counter() - t0)
    return statistics.median(seen)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds so far of a process and the processes it started (`run`'s sender)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--idle-seconds", type=float, default=30)
    args = parser.parse_args()

    from servers import Dovecot, free_port
    from support import base_config, imap_section, to_toml

    from intake import config
    from intake.service import Service
    from intake.store.db import make_engine, upgrade

    tmp = Path(tempfile.mkdtemp(prefix="smat-idle-"))
    empty, full = Dovecot().start(), Dovecot().start()
    try:
        figures = {}
        for label, server in (("empty", empty), ("full", full)):
            if label == "full":
                fill_maildir(server, "text", args.messages)
                with server.connect() as box:  # let Dovecot index the new mail once, outside the timing
                    box.uids()
            url = f"sqlite:///{tmp / label}.db"
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            path = tmp / f"{label}.toml"
            path.write_text(to_toml(base_config(url, imap={**imap_section(server), "poll_seconds": 5})))
            service = Service.build(config.load(path))
            source = service.imap_source()
            assert source is not None
            source.poll_once()  # the first look: the baseline
            figures[label] = poll_seconds(source, 15)
            service.close()
        ratio = figures["full"] / figures["empty"]
        print(
            f"idle poll: empty INBOX {figures['empty'] * 1000:.1f} ms, {args.messages} messages left alone "
            f"{figures['full'] * 1000:.1f} ms (median of 15): {ratio:.2f} x (target <= 1.5: "
            f"{'met' if ratio <= 1.5 else 'NOT MET'})"
        )

        url = f"sqlite:///{tmp / 'run'}.db"
        path = tmp / "run.toml"
        listener = {"host": "127.0.0.1", "port": free_port()}
        production = {"folder": str(tmp / "outbox"), "retry_seconds": 60}  # the default sweep, not the tests' 1 s
        imap = {**imap_section(empty), "poll_seconds": 60}
        path.write_text(to_toml(base_config(url, imap=imap, listener=listener, outbox=production)))
        subprocess.run([sys.executable, "-m", "intake", "--config", str(path), "init"], check=True, cwd=REPO)
        proc = subprocess.Popen(
            [sys.executable, "-m", "intake", "--config", str(path), "run"],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(20)  # start-up (imports, first look, the first sweep) is not idling
            before, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(args.idle_seconds)
            used, wall = cpu_seconds(proc.pid) - before, time.monotonic() - t0
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        share = used / wall * 100
        print(
            f"idle run: {used:.2f} CPU s over {wall:.0f} s = {share:.2f} % of a core "
            f"(target < 1 %: {'met' if share < 1 else 'NOT MET'})"
        )
    finally:
        empty.stop()
        full.stop()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
