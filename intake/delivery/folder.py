"""Delivery into a folder of .eml files: the embedded default, for trying the service without a relay."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from intake.delivery.transport import TemporaryFailure


class FolderTransport:
    """Writes each message atomically as `<time>-<n>-<recipient>.eml` (0600) in one folder (made 0700)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._count = 0

    def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> dict[str, str]:
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
            self._count += 1
            who = re.sub(r"[^A-Za-z0-9@._+-]", "_", recipients[0] if recipients else "nobody")[:80]
            final = self.folder / f"{stamp}-{os.getpid()}-{self._count}-{who}.eml"
            temp = final.with_suffix(".tmp")
            envelope = f"X-Envelope-From: <{mail_from}>\r\nX-Envelope-To: {', '.join(f'<{r}>' for r in recipients)}\r\n"
            # Review requests carry live reply keys: readable by this user only.
            with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
                handle.write(envelope.encode() + raw)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, final)
        except OSError as exc:
            raise TemporaryFailure(f"cannot write to the outbox folder {self.folder}: {exc.strerror}") from exc
        return {}

    def close(self) -> None:
        pass
