"""Platform fit (policy §6.3: "suitable for the intended audience"): will the draft go on each account as it is?

For each of the council's accounts ([screening] accounts) the text must be within the
platform's length (X: 280 characters) and carry a picture where the platform needs one
(Instagram). No accounts configured, no flag.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from intake.config.screening import PLATFORMS
from intake.screening.base import Draft, Flag

if TYPE_CHECKING:
    from intake.config import Settings

ID, SECTION, SEVERITY = "platform_fit", "6.3", "info"
DESCRIPTION = "length against each of the council's accounts (X 280 characters); Instagram needs a picture"


def check(draft: Draft, config: Settings) -> list[Flag]:
    """One flag listing every account the draft does not fit as it stands."""
    length = len(" ".join(draft.text.split()))
    problems: list[str] = []
    for account in config.screening.accounts:
        limit, needs_picture = PLATFORMS[account.platform]
        name = f"{account.platform} {account.handle}".strip()
        if length > limit:
            problems.append(f"{name}: {length} characters, over {limit}")
        if needs_picture and draft.pictures == 0:
            problems.append(f"{name}: needs a picture")
    if not problems:
        return []
    return [Flag(ID, SECTION, SEVERITY, "; ".join(dict.fromkeys(problems)))]
