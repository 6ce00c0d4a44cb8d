"""One running instance per SQLite database: a lock file beside it, held while the service runs.

SQLite has no row locks to share the outbox between live processes (a starting process releases
every claim, so a second live one could send the first one's mail again). PostgreSQL needs no
lock file: there, row locks let several instances share the work. The lock is the kernel's
(flock): it dies with the process, so a killed service never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy.engine import make_url

from intake.errors import IntakeError


class InstanceLock:
    """A held lock (or none, where none is needed); release() when the service stops."""

    def __init__(self, fd: int | None = None) -> None:
        self.fd = fd

    def release(self) -> None:
        """Let another instance start (closing the file drops the flock)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def beside(url: str, suffix: str) -> Path | None:
    """A file beside a SQLite database file (`<database><suffix>`); None for PostgreSQL or in memory."""
    parsed = make_url(url)
    path = parsed.database
    if not parsed.drivername.startswith("sqlite") or not path or path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path).with_name(Path(path).name + suffix)


def lock_path(url: str) -> Path | None:
    """The lock file for a SQLite database file (`<database>.lock`); None for PostgreSQL or in memory."""
    return beside(url, ".lock")


class AnotherInstance(IntakeError):
    """Another smat-intake process holds the SQLite database's instance lock (`pid` as it wrote it)."""

    def __init__(self, message: str, pid: str) -> None:
        super().__init__(message)
        self.pid = pid


def hold(url: str, doing: str) -> InstanceLock:
    """Take the database's instance lock, or say in one sentence why this instance may not start."""
    path = lock_path(url)
    if path is None:
        return InstanceLock()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise IntakeError(f"cannot {doing}: the lock file {path} cannot be opened: {exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        other = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise AnotherInstance(
            f"cannot {doing}: another smat-intake (process {other}) is already working on the SQLite database "
            f"{make_url(url).database} (it holds {path}). SQLite serves one running instance at a time: stop the "
            "other one first, or use PostgreSQL to run several instances.",
            other,
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return InstanceLock(fd)
