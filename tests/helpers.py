"""Re-exports of support.py under the names older test files import (deleted once they move over)."""

from __future__ import annotations

from support import TOWN_MAILBOX as MAILBOX
from support import TOWN_REVIEWERS as ACTIVE_REVIEWERS
from support import TOWN_ROSTER as ROSTER
from support import TOWN_SECRET as SECRET
from support import base_config, to_toml, toml_value, wait_for_port, wait_until, write_config

__all__ = [
    "ACTIVE_REVIEWERS",
    "MAILBOX",
    "ROSTER",
    "SECRET",
    "base_config",
    "to_toml",
    "toml_value",
    "wait_for_port",
    "wait_until",
    "write_config",
]
