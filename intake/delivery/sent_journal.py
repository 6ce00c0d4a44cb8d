"""SQLite: each mail the relay took, noted in a file beside the database until the database records it.

On SQLite a batch of sends is recorded in one transaction, because taking mail in leaves the one
write lock free only now and then (README, "Speed and storage"). A sender killed before that
commit would send its whole batch again; with these notes the next sender first records what the
relay already took, so that at most the one mail in the relay's hands at the kill goes twice (with
the same Message-ID), as when every send was committed alone. A note is written with one `write`
to a file opened for appending: it outlives the process (not a power cut, like delivery records).
"""

from __future__ import annotations

import json
import os
from pathlib import Path


class SentJournal:
    """Notes of sends not yet recorded: `note` each, `read` them after a stop, `clear` once recorded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def note(self, row_id: int, refused: dict[str, str]) -> None:
        """The relay took outbox row `row_id` (refusing `refused` one by one)."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(self._fd, json.dumps([row_id, refused]).encode() + b"\n")

    def read(self) -> dict[int, dict[str, str]]:
        """Every whole note in the file, by row id (a note cut short by a kill is no note: that mail goes again)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        notes: dict[int, dict[str, str]] = {}
        for line in data.splitlines():
            try:
                row_id, refused = json.loads(line)
                notes[int(row_id)] = {str(k): str(v) for k, v in refused.items()}
            except (ValueError, TypeError, AttributeError):
                continue
        return notes

    def clear(self) -> None:
        """The database has recorded every note: empty the file."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
        elif self.path.exists():
            os.truncate(self.path, 0)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
