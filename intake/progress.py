"""Progress while a large backlog is taken in: a bar on a terminal, otherwise a log line every few seconds.

Each shows how many of how many messages, and the rate; nothing is shown for a small pass.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TextIO

SHOW_FROM = 100  # passes with fewer messages than this show nothing
LOG_EVERY = 5.0  # seconds between log lines when not on a terminal
BAR_WIDTH = 30


class Progress:
    """Counts messages taken in and reports them; `done()` once after each message."""

    def __init__(
        self,
        total: int,
        log: logging.Logger,
        terminal: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.log = log
        self.terminal = terminal if terminal is not None and terminal.isatty() else None
        self.clock = clock
        self.count = 0
        self.started = clock()
        self.last_shown = self.started
        self.active = total >= SHOW_FROM

    def rate(self) -> float:
        """Messages a second so far."""
        elapsed = self.clock() - self.started
        return self.count / elapsed if elapsed > 0 else 0.0

    def done(self, n: int = 1) -> None:
        """Count `n` more messages; show progress when it is due."""
        self.count += n
        if not self.active:
            return
        now = self.clock()
        if self.terminal is not None:
            filled = BAR_WIDTH * self.count // max(self.total, 1)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.terminal.write(f"\r[{bar}] {self.count}/{self.total} ({self.rate():.1f} a second)")
            if self.count >= self.total:
                self.terminal.write("\n")
            self.terminal.flush()
        elif now - self.last_shown >= LOG_EVERY or self.count >= self.total:
            self.last_shown = now
            self.log.info("taken in %d of %d message(s), %.1f a second", self.count, self.total, self.rate())
