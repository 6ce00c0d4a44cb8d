"""Progress while a large backlog is taken in: a bar on a terminal, a log line every few seconds otherwise."""

from __future__ import annotations

import io
import logging

from support import LogRecorder

from intake.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_a_line_every_five_seconds_with_count_and_rate():
    now = [0.0]
    log = LogRecorder("intake.test.progress")
    try:
        progress = Progress(210, log.logger, io.StringIO(), clock=lambda: now[0])
        for _ in range(210):
            now[0] += 0.25  # four a second
            progress.done()
    finally:
        log.close()
    assert log.messages[0] == "taken in 20 of 210 message(s), 4.0 a second"
    assert log.messages[-1] == "taken in 210 of 210 message(s), 4.0 a second"
    assert len(log.messages) == 11  # every 5 s (20, 40, … 200) and the end


def test_on_a_terminal_a_bar_and_a_small_pass_shows_nothing():
    terminal = Terminal()
    progress = Progress(100, logging.getLogger("intake.test.progress"), terminal, clock=iter(range(1000)).__next__)
    for _ in range(100):
        progress.done()
    shown = terminal.getvalue()
    assert shown.startswith("\r[" + "-" * 30 + "] 1/100 (") and "\r[" + "#" * 30 + "] 100/100 (" in shown
    assert shown.endswith(" a second)\n")
    quiet = Terminal()
    small = Progress(10, logging.getLogger("intake.test.progress"), quiet)
    for _ in range(10):
        small.done()
    assert quiet.getvalue() == ""
