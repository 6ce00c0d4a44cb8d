"""Whether a new item's sender is acknowledged, told once that the rest are not, or not written to.

Anyone can put someone else's address in From: fifty forged drafts must not become fifty
acknowledgements in a stranger's inbox. People on the roster hear about every draft.
Rules decide, callers act: this module only counts and says which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Step(StrEnum):
    """What to send the sender of a new item."""

    SEND = "send"  # the acknowledgement, as always
    NOTE = "note"  # over the hour's share: one acknowledgement saying the rest will not each be acknowledged
    HOLD = "hold"  # over the share, and told so already today: nothing, recorded on the item


@dataclass(frozen=True)
class Lately:
    """What one sender has had from us lately, counted over their items (this new one included)."""

    acknowledged_this_hour: int  # items acknowledged in the last hour
    held_today: int  # items whose acknowledgement was held back since midnight (the note counts)
    received_today: int  # items from them since midnight
    acknowledged_today: int = 0  # items acknowledged since midnight (the note counts)


def step(on_roster: bool, lately: Lately, per_hour: int, per_day: int | None = None) -> Step:
    """Roster members always; others `per_hour` an hour, then one note a day, then nothing;
    and never more than `per_day` a day, so an autoresponder that does not say so cannot keep a loop going."""
    if on_roster:
        return Step.SEND
    if per_day is not None and lately.acknowledged_today >= per_day:
        return Step.HOLD
    if lately.acknowledged_this_hour < per_hour:
        return Step.SEND
    return Step.NOTE if lately.held_today == 0 else Step.HOLD


_PREFIXES = re.compile(r"^(?:\s*(?:re|fwd?|aw|wg|tr|sv|vs)\s*(?:\[\d{1,3}\])?\s*:)+", re.IGNORECASE)
_TAG = re.compile(r"\[SMAT-\d{4}-\d{4,}\]", re.IGNORECASE)


def subject_key(subject: str) -> str:
    """A subject as compared for repeats: Re:/Fwd: prefixes, our tag, case and spacing aside."""
    subject = _TAG.sub(" ", subject[:1000])
    return " ".join(_PREFIXES.sub("", subject.strip()).split()).casefold()
