"""Re-exports of support.py and samples.py under the names older test files import (deleted once they move)."""

from __future__ import annotations

from samples import HERE, MESSAGES, TINY_JPEG, auto_reply, draft, golden, winmail_draft
from support import OUR_ADDRESS, REVIEWERS, ROSTER, initialised_service, settings_for

__all__ = [
    "HERE",
    "MESSAGES",
    "OUR_ADDRESS",
    "REVIEWERS",
    "ROSTER",
    "TINY_JPEG",
    "auto_reply",
    "draft",
    "golden",
    "initialised_service",
    "settings_for",
    "winmail_draft",
]
