"""`run`'s outbox delivery in a process of its own, so that sending goes on while mail is taken in.

Python runs one thread of a process at a time: with delivery as a thread beside the IMAP reader,
a backlog's intake and its delivery took turns, and four mails a draft waited for the whole
backlog (README, "Speed and storage"). The child builds its own Service from the same settings
(its own database connections and relay connection), sends what is due each time the parent
says mail was queued, and sends its log records back to the parent's handlers. It ignores
SIGINT (the parent stops it), ends after the mail in hand on SIGTERM, and dies with `run`:
a killed `run` leaves no sender behind to race its successor for the same mail. It is forked as
`run` starts; started again (or from a thread), it is forked by multiprocessing's fork server,
which imports the service once, instead of a fresh interpreter each time.

The parent tells the child through a pipe (a byte to wake it, another to stop it; the end of the
pipe when the parent is gone), not through multiprocessing's Event: its notify waits for every
sleeping waiter to say it woke, so a child killed while waiting would hang the parent for ever.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import os
import select
import signal
import sys
import threading
from typing import Any

from intake.config import Settings

RESTART_SECONDS = 5.0  # how often the parent looks whether its sender is still there, and starts it again
FORKSERVER_PRELOAD = ["intake.service"]  # what the fork server imports once, before it forks any sender
WAKE, STOP = b"w", b"s"
_PR_SET_PDEATHSIG = 1


class DeliveryProcess:
    """The child that sends: `start` it, `forward` the parent's wake-ups to it in a thread, `stop` it."""

    def __init__(self, settings: Settings, log: logging.Logger, linger_seconds: float) -> None:
        """`log`: the parent Service's; the child's records come back under the same names."""
        self.settings, self.service_log, self.linger_seconds = settings, log, linger_seconds
        self.log = log.getChild("delivery")
        self._process: Any = None
        self._to_child = -1  # the write end of the pipe to the child
        self._listener: logging.handlers.QueueListener | None = None

    def start(self) -> None:
        """Start the child (again, if it died) with a new pipe and a new queue for its log records.

        New ones each time: a child killed while it held the old queue's lock would leave it locked.
        """
        self._end_channels()
        # fork is quick (nothing to import again) and safe while this is the only thread: the command
        # line's `run` starts its sender before anything else. Otherwise (a restart, a test's thread) the
        # fork server: a process that imports the service once, then forks each sender asked of it.
        alone = threading.active_count() == 1 and sys.platform == "linux"
        later = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        context: Any = multiprocessing.get_context("fork" if alone else later)
        if not alone and later == "forkserver":
            context.set_forkserver_preload(FORKSERVER_PRELOAD)  # before its server starts; then ignored
        records = context.Queue()
        reader, writer = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve,
            args=(self.settings, self.service_log.name, self.service_log.getEffectiveLevel(), self.linger_seconds),
            kwargs={
                "orders": reader,
                "records": records,
                "parent": os.getpid(),
                "parents_end": writer.fileno() if alone else -1,  # a forked child has it too, and must close it
            },
            name="smat-intake delivery",
            daemon=True,
        )
        self._process.start()
        reader.close()
        self._to_child = os.dup(writer.fileno())
        writer.close()
        os.set_blocking(self._to_child, False)
        self._listener = logging.handlers.QueueListener(records, _ToParentLoggers())
        self._listener.start()  # after the fork: the child inherits no thread of the parent's

    def tell(self, order: bytes) -> None:
        """Send the child WAKE or STOP without ever waiting: a full pipe already holds a wake-up."""
        try:
            os.write(self._to_child, order)
        except (BlockingIOError, BrokenPipeError, OSError):
            pass

    def forward(self, wake: threading.Event, stop: threading.Event) -> None:
        """Until `stop`: pass each of `wake`'s wake-ups to the child; start the child again if it died."""
        while not stop.is_set():
            if wake.wait(timeout=RESTART_SECONDS):
                wake.clear()
                self.tell(WAKE)
            if not stop.is_set() and not self._process.is_alive():
                self.log.error(
                    "the delivery process stopped (exit code %s); starting it again: mail waits, none is lost",
                    self._process.exitcode,
                )
                self.start()
                self.tell(WAKE)

    def stop(self, timeout: float = 15.0) -> None:
        """Let the child finish the mail it is sending and end; then stop writing its log records."""
        if self._process is not None:
            self.tell(STOP)
            self._process.join(timeout)
            if self._process.is_alive():
                self.log.warning("the delivery process did not stop within %.0f s; ending it", timeout)
                self._process.kill()
                self._process.join(5)
        self._end_channels()

    def _end_channels(self) -> None:
        if self._to_child >= 0:
            os.close(self._to_child)
            self._to_child = -1
        if self._listener is not None:
            # Its stop waits for the queue, which a killed child may have left locked: wait a while, not for ever.
            ending = threading.Thread(target=self._listener.stop, daemon=True)
            ending.start()
            ending.join(timeout=5)
            self._listener = None


class _ToParentLoggers(logging.Handler):
    """Hands each record from the child to the parent's logger of the same name (and so its handlers)."""

    def emit(self, record: logging.LogRecord) -> None:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


class _Orders:
    """The child's end of the pipe, read as `Service.deliver_until` reads its wake-up event."""

    def __init__(self, fd: int) -> None:
        self.fd, self.woken, self.stopping = fd, False, False

    def wait(self, timeout: float | None = None) -> bool:
        """True once woken or told to stop (or the parent is gone); False after `timeout` seconds.

        A second at a time, so that a SIGTERM (which only sets `stopping`) is seen within a second.
        """
        left = timeout
        while not (self.woken or self.stopping) and (left is None or left > 0):
            step = 1.0 if left is None else min(left, 1.0)
            if select.select([self.fd], [], [], step)[0]:
                self._read()
            if left is not None:
                left -= step
        return self.woken or self.stopping

    def _read(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return
        self.woken = True
        if not data or STOP in data:  # the end of the pipe: the parent is gone
            self.stopping = True

    def clear(self) -> None:
        self.woken = False

    def is_set(self) -> bool:
        """As `stop`: told to stop, or the parent is gone."""
        return self.stopping


def _serve(
    settings: Settings,
    log_name: str,
    level: int,
    linger_seconds: float,
    *,
    orders: Any,
    records: Any,
    parent: int,
    parents_end: int,
) -> None:
    """The child: a Service of its own whose `deliver_until` sends whenever woken, until told to stop."""
    die_with_parent(parent)
    if parents_end >= 0:
        os.close(parents_end)  # forked: the parent's write end, else the pipe would never end here
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C reaches the whole group: the parent decides
    told = _Orders(orders.fileno())
    os.set_blocking(told.fd, False)
    # SIGTERM (systemd's stop reaches every process of the service): end after the mail being sent.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: setattr(told, "stopping", True))
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(records)]
    root.setLevel(level)
    log = logging.getLogger(log_name)
    from intake.service import Service  # the child's own connections, made from the settings

    service = Service.build(settings, log, check_schema=False)
    service.wake_delivery, service.linger_seconds = told, linger_seconds  # type: ignore[assignment]
    try:
        service.deliver_until(told)  # type: ignore[arg-type]
    finally:
        service.close()


def die_with_parent(parent: int) -> None:
    """Linux: this process ends when `run` does, even by SIGKILL, at once and whatever it is doing.

    Forked by `run`: the kernel kills it when its parent dies. Forked by the fork server (whose
    death the kernel would report instead): a thread waits on `run`'s process handle and ends it.
    """
    if sys.platform != "linux":
        return
    if os.getppid() == parent:
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            return
        if os.getppid() == parent:
            return
    try:  # started by the fork server, or `run` died before the prctl above
        handle = os.pidfd_open(parent)
    except ProcessLookupError:
        os._exit(1)
    except OSError:
        return  # no process handles (Linux before 5.3): the end of the pipe still stops this process
    threading.Thread(target=_end_with, args=(handle,), name="run's end", daemon=True).start()


def _end_with(handle: int) -> None:
    """Wait until the process behind `handle` has ended, then end this one."""
    select.select([handle], [], [])
    os._exit(1)
