"""`run`'s outbox delivery in a process of its own, so that sending goes on while mail is taken in.

Python runs one thread of a process at a time: with delivery as a thread beside the IMAP reader,
a backlog's intake and its sending took turns, and four mails a draft waited for the whole
backlog (README, "Speed and storage"). The child builds its own Service from the same settings
(its own database connections and relay connection), sends what is due each time the parent
says mail was queued, and sends its log records back to the parent's handlers. It ignores
SIGINT (the parent stops it), ends after the mail in hand on SIGTERM, and dies with its parent:
a killed `run` leaves no sender behind to race its successor for the same mail.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import os
import signal
import sys
import threading
from typing import Any

from intake.config import Settings

RESTART_SECONDS = 5.0  # how often the parent looks whether its sender is still there, and starts it again
_PR_SET_PDEATHSIG = 1


class DeliveryProcess:
    """The child that sends: `start` it, `forward` the parent's wake-ups to it in a thread, `stop` it."""

    def __init__(self, settings: Settings, log: logging.Logger, linger_seconds: float) -> None:
        """`log`: the parent Service's; the child's records come back under the same names."""
        self._context: Any = multiprocessing.get_context("spawn")
        self.settings, self.service_log, self.linger_seconds = settings, log, linger_seconds
        self.log = log.getChild("delivery")
        self.wake = self._context.Event()
        self._stop = self._context.Event()
        self._records: Any = self._context.Queue()
        self._listener = logging.handlers.QueueListener(self._records, _ToParentLoggers())
        self._process: Any = None
        self.starts = 0

    def start(self) -> None:
        """Start the child (again, if it died) and the thread that writes its log records here."""
        # fork is quick (nothing to import again) and safe while this is the only thread: the command
        # line's `run` starts its sender before anything else. Otherwise (a restart, a test's thread) spawn.
        alone = threading.active_count() == 1 and sys.platform == "linux"
        context = multiprocessing.get_context("fork") if alone else self._context
        self._process = context.Process(
            target=_serve,
            args=(self.settings, self.service_log.name, self.service_log.getEffectiveLevel(), self.linger_seconds),
            kwargs={"wake": self.wake, "stop": self._stop, "records": self._records, "parent": os.getpid()},
            name="smat-intake delivery",
            daemon=True,
        )
        self._process.start()
        if self.starts == 0:
            self._listener.start()  # after the fork: the child inherits no thread of the parent's
        self.starts += 1

    def forward(self, wake: threading.Event, stop: threading.Event) -> None:
        """Until `stop`: pass each of `wake`'s wake-ups to the child; start the child again if it died."""
        while not stop.is_set():
            if wake.wait(timeout=RESTART_SECONDS):
                wake.clear()
                self.wake.set()
            if not stop.is_set() and not self._process.is_alive():
                self.log.error(
                    "the delivery process stopped (exit code %s); starting it again: mail waits, none is lost",
                    self._process.exitcode,
                )
                self.start()
                self.wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        """Let the child finish the mail it is sending and end; then stop writing its log records."""
        self._stop.set()
        self.wake.set()
        if self._process is not None:
            self._process.join(timeout)
            if self._process.is_alive():
                self.log.warning("the delivery process did not stop within %.0f s; ending it", timeout)
                self._process.kill()
                self._process.join(5)
        if self.starts:
            self._listener.stop()
        self._records.close()

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (for tests)."""
        return None if self._process is None else int(self._process.pid)


class _ToParentLoggers(logging.Handler):
    """Hands each record from the child to the parent's logger of the same name (and so its handlers)."""

    def emit(self, record: logging.LogRecord) -> None:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


def _serve(
    settings: Settings,
    log_name: str,
    level: int,
    linger_seconds: float,
    *,
    wake: Any,
    stop: Any,
    records: Any,
    parent: int,
) -> None:
    """The child: a Service of its own whose `deliver_until` sends whenever woken, until told to stop."""
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C reaches the whole group: the parent decides
    # SIGTERM (systemd's stop reaches every process of the service): end after the mail being sent. The events
    # are set from a thread: a handler interrupting this one inside the events' own lock would wait for ever.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: threading.Thread(target=_end, args=(stop, wake)).start())
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(records)]
    root.setLevel(level)
    log = logging.getLogger(log_name)
    from intake.service import Service  # the child's own connections, made from the settings

    service = Service.build(settings, log, check_schema=False)
    service.wake_delivery, service.linger_seconds = wake, linger_seconds
    watcher = threading.Thread(target=_watch_parent, args=(parent, stop, wake), daemon=True)
    watcher.start()
    try:
        service.deliver_until(stop)
    finally:
        service.close()


def _die_with(parent: int) -> None:
    """Linux: the kernel kills this process when its parent dies, even by SIGKILL."""
    if sys.platform != "linux":
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _watch_parent(parent: int, stop: Any, wake: Any) -> None:
    """Elsewhere than Linux (and as a second guard): stop when the parent is gone."""
    while not stop.wait(1.0):
        if os.getppid() != parent:
            _end(stop, wake)


def _end(stop: Any, wake: Any) -> None:
    stop.set()
    wake.set()
