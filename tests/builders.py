"""Re-exports of support.py under the names the older test files import (to be deleted once they use support)."""

from __future__ import annotations

from support import (
    HERE,
    MESSAGES,
    OUR_ADDRESS,
    REVIEWERS,
    ROSTER,
    TINY_JPEG,
    auto_reply,
    draft,
    golden,
    initialised_service,
    settings_for,
    winmail_draft,
)

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
