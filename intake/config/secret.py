"""The reply-key secret kept in a file: read by loading the config, made only by `smat-intake init`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from intake.errors import ConfigError

if TYPE_CHECKING:
    from intake.config.settings import Security

MIN_LENGTH = 16  # a shorter secret makes reply keys guessable


def read_secret_file(config_file: Path, secret_file: Path) -> bytes | None:
    """The secret in *secret_file*, or None if there is no such file yet; never writes."""
    try:
        value = secret_file.read_bytes().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(
            f"{config_file}: [security] secret_file {secret_file} cannot be used ({exc.strerror})."
        ) from None
    if len(value) < MIN_LENGTH:
        raise ConfigError(
            f"{config_file}: [security] secret_file {secret_file} holds too short a secret "
            f"({MIN_LENGTH} characters at least)."
        )
    return value


def ensure_secret_file(security: Security) -> bool:
    """Make the secret file if the config names no secret and it is missing; True if this call made it."""
    if security.given_secret:
        return False
    config_file, secret_file = security.config_file, security.secret_file
    try:
        if secret_file.exists():
            return False
        secret_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        value = os.urandom(32).hex().encode()
        # Written in full under a temporary name, then linked into place: two processes
        # running init together both end up with the one secret that won, never a half-written one.
        temp = secret_file.with_name(f".{secret_file.name}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(value + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, secret_file)
        finally:
            temp.unlink(missing_ok=True)
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        raise ConfigError(
            f"{config_file}: [security] secret_file {secret_file} cannot be used ({exc.strerror})."
        ) from None
