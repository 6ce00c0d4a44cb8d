"""The `run` side of bench/latency.py: intake.service.run with timestamps taken around the service's own calls.

Nothing in intake/ is changed: the worker wraps, on its own Service object, pipeline.ingest
(within it Pipeline._read, the parse and the look at each file, and Pipeline._process, all
that the message causes inside the transaction; and the ingesting thread's CPU time), each
IMAP pass (ImapSource.take_in), each delivery pass (Service.deliver), the building of each
outgoing message (store.outbox.message_bytes) and each send to the relay, and writes one JSON
line per event (time.time(), kind, fields) to the events file. The cost is a few microseconds
per event.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SENDER = "resident{}@example.com"  # corpus.text_draft(i) comes from this address
_WHO = re.compile(rb"resident(\d+)@example\.com")


class Events:
    """One JSON line per event, written as it happens."""

    def __init__(self, path: Path) -> None:
        self.out = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - open for the worker's life
        self.lock = threading.Lock()
        self.sent_in_pass = 0

    def note(self, kind: str, **fields: Any) -> None:
        line = json.dumps({"t": time.time(), "kind": kind, **fields})
        with self.lock:
            self.out.write(line + "\n")


def who(raw: bytes) -> int | None:
    """The draft's number, from its sender address."""
    found = _WHO.search(raw[:4000])
    return int(found.group(1)) if found else None


class TimedTransport:
    """The service's transport, noting when each message is handed to it and when the relay said OK."""

    def __init__(self, inner: Any, events: Events) -> None:
        self.inner, self.events = inner, events

    def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> dict[str, str]:
        self.events.note("send_start", rcpts=list(recipients), before=self.events.sent_in_pass)
        refused: dict[str, str] = self.inner.send(mail_from, recipients, raw)
        self.events.sent_in_pass += 1
        self.events.note("send_end", rcpts=list(recipients))
        return refused

    def close(self) -> None:
        self.inner.close()


def instrument(service: Any, events: Events, profiler: Any = None) -> None:
    """Wrap the service's calls on this object (and store.outbox.message_bytes in this process).

    With a cProfile profiler, each ingest runs under it (on whichever thread ingests).
    """

    pipeline = service.pipeline
    ingest, read, process = pipeline.ingest, pipeline._read, pipeline._process
    stage = threading.local()  # seconds in Pipeline._read and Pipeline._process during this thread's ingest

    def timed_read(*args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return read(*args)
        finally:
            stage.read = time.perf_counter() - t0

    def timed_process(*args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return process(*args)
        finally:
            stage.process = time.perf_counter() - t0

    def timed_ingest(raw: bytes, source: str, key: str | None = None, rcpts: Sequence[str] = ()) -> Any:
        number = who(raw)
        stage.read = stage.process = 0.0
        events.note("ingest_start", who=number, source=source)
        cpu = time.thread_time()
        if profiler is not None:
            profiler.enable()
        try:
            outcome = ingest(raw, source, key, rcpts)
        finally:
            if profiler is not None:
                profiler.disable()
        cpu = time.thread_time() - cpu
        events.note("ingest_end", who=number, read=stage.read, process=stage.process, cpu=cpu)
        return outcome

    pipeline.ingest, pipeline._read, pipeline._process = timed_ingest, timed_read, timed_process

    imap_source = service.imap_source

    def timed_source() -> Any:
        source = imap_source()
        if source is not None:
            take_in = source.take_in

            def timed_take_in(box: Any, backlog: bool = False) -> Any:
                events.note("pass_start")
                report = take_in(box, backlog)
                events.note("pass_end", taken=report.taken)
                return report

            source.take_in = timed_take_in
        return source

    service.imap_source = timed_source
    instrument_delivery(service, events)


def instrument_delivery(service: Any, events: Events) -> None:
    """Wrap the delivery side: each delivery pass, each message built and each send.

    `run` sends from a forked child with a Service of its own: the worker has this applied to every
    Service built after it starts, so the child's is wrapped too (its lines go to the same file).
    """
    import intake.store.outbox as store_outbox

    deliver = service.deliver

    def timed_deliver(*args: Any, **kwargs: Any) -> Any:  # run's thread asks keep_open=True
        events.sent_in_pass = 0
        events.note("deliver_start")
        report = deliver(*args, **kwargs)
        events.note("deliver_end", sent=report.sent)
        return report

    service.deliver = timed_deliver

    factory = service.drain.transport_factory
    service.drain.transport_factory = lambda: TimedTransport(factory(), events)

    message_bytes = store_outbox.message_bytes
    if getattr(message_bytes, "timed", False):  # wrapped already (the forked sender inherits the parent's)
        return

    def timed_message_bytes(session: Any, row: Any, *args: Any, **kwargs: Any) -> Any:
        events.note("build_start", rcpts=list(row.recipients), purpose=str(row.purpose))
        return message_bytes(session, row, *args, **kwargs)

    timed_message_bytes.timed = True  # type: ignore[attr-defined]
    store_outbox.message_bytes = timed_message_bytes


def worker(config_path: Path, events_path: Path, profile_path: Path | None = None) -> None:
    """Build the service as `smat-intake run` does, instrument it, and run until SIGTERM.

    With `profile_path`, every ingest runs under cProfile and the top functions are written there at the end.
    """
    from intake import config, logs
    from intake.service import Service, run

    logs.configure(False, False, sys.stderr)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    settings = config.load(config_path)
    service = Service.build(settings, logging.getLogger("intake"))
    events = Events(events_path)
    profiler = None
    if profile_path is not None:
        import cProfile

        profiler = cProfile.Profile()
    instrument(service, events, profiler)
    build = Service.build.__func__  # type: ignore[attr-defined]

    def build_instrumented(cls: Any, *args: Any, **kwargs: Any) -> Any:
        built = build(cls, *args, **kwargs)
        instrument_delivery(built, events)  # the sender process's own Service
        return built

    Service.build = classmethod(build_instrumented)  # type: ignore[method-assign, assignment]
    events.note("ready")
    try:
        run(service)
    finally:
        service.close()
        if profiler is not None:
            import pstats

            with open(profile_path, "w", encoding="utf-8") as out:
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats("cumulative").print_stats(45)
                stats.sort_stats("tottime").print_stats(25)
