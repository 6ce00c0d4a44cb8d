"""A draft whose sender's display name is a roster member's name, sent from an address that is not theirs.

"Town Clerk <clerk@evil.example>" is either a mistake or someone dressing up as a member to
get a draft through (issue 7, item 7). The draft is not refused: it carries a high-severity
flag, so only the Town Clerk or the Deputy Town Clerk can approve it (policy §6.3).
Pure: the roster is passed in as the settings.
"""

from __future__ import annotations

from typing import Any

from intake.config import Settings

RULE, SECTION = "impersonation", "6.3"


def flags(settings: Settings, display_name: str, email: str) -> list[dict[str, Any]]:
    """The flag for a display name that claims a roster member from another address; [] if it does not."""
    person = settings.impersonated(display_name, email)
    if person is None:
        return []
    excerpt = f"{display_name!r} <{email}> uses the name of {person.name}, whose address is not {email}"
    return [{"rule": RULE, "section": SECTION, "severity": "high", "excerpt": excerpt[:300]}]
