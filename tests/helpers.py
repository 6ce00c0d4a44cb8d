"""Shared test helpers: write a config file from plain values, wait for a port or a file.

Nothing here starts servers (that is conftest.py / servers.py); these are small utilities
used by test_config, test_delivery and test_cli.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAILBOX = "smat.info@town.example"
SECRET = "0123456789abcdef0123456789abcdef"

# A small roster: three reviewers (one per reviewing role), one inactive reviewer who must
# get nothing, and a councillor.
ROSTER: list[dict[str, Any]] = [
    {"name": "Town Clerk", "email": "clerk@town.example", "role": "clerk"},
    {"name": "Deputy Town Clerk", "email": "deputy@town.example", "role": "deputy_clerk"},
    {"name": "Comms Officer", "email": "comms@town.example", "role": "smat"},
    {"name": "Former Member", "email": "former@town.example", "role": "smat", "active": False},
    {"name": "Cllr Example", "email": "cllr@town.example", "role": "councillor"},
]
ACTIVE_REVIEWERS = {"clerk@town.example", "deputy@town.example", "comms@town.example"}


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_toml(sections: dict[str, Any]) -> str:
    """Plain sections ({"council": {...}}) and arrays of tables ({"people": [{...}]}) as TOML text."""
    out: list[str] = []
    for name, body in sections.items():
        if isinstance(body, list):
            for entry in body:
                out.append(f"[[{name}]]")
                out += [f"{k} = {toml_value(v)}" for k, v in entry.items()]
                out.append("")
        else:
            out.append(f"[{name}]")
            out += [f"{k} = {toml_value(v)}" for k, v in body.items()]
            out.append("")
    return "\n".join(out)


def base_config(database_url: str | None = None, **sections: Any) -> dict[str, Any]:
    """A valid config as a dict; keyword arguments add or replace whole sections (None drops one)."""
    data: dict[str, Any] = {
        "council": {"name": "Test Town Council", "timezone": "Europe/London"},
        "mailbox": {"address": MAILBOX},
        "database": {"url": database_url or "sqlite:///var/smat.db"},
        "outbox": {"folder": "outbox", "max_attempts": 5, "retry_seconds": 60},
        "security": {"secret": SECRET},
        "people": [dict(p) for p in ROSTER],
    }
    for name, body in sections.items():
        if body is None:
            data.pop(name, None)
        else:
            data[name] = body
    # keep [[people]] last so that no plain table follows an array of tables by accident
    people = data.pop("people", None)
    if people is not None:
        data["people"] = people
    return data


def write_config(folder: Path, database_url: str | None = None, name: str = "config.toml", **sections: Any) -> Path:
    """Write base_config(...) as TOML into *folder*; returns the file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(to_toml(base_config(database_url, **sections)), encoding="utf-8")
    return path


def wait_for_port(host: str, port: int, timeout: float = 15, alive: Callable[[], bool] | None = None) -> None:
    """Wait until something accepts TCP connections on host:port (or *alive* says the server died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError(f"the server died before listening on {host}:{port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {host}:{port} within {timeout}s")


def wait_until(
    condition: Callable[[], Any], timeout: float = 15, interval: float = 0.05, what: str = "condition"
) -> Any:
    """Poll *condition* until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout}s")
        time.sleep(interval)
