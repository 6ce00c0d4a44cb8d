"""Median and percentile of waiting times, for the committee report's "time to decision"."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta

PERCENTILE = 90  # "9 in 10 within …"


def median(values: Sequence[timedelta]) -> timedelta | None:
    """The middle value (the mean of the two middle ones for an even count); None for none."""
    ordered = sorted(values)
    if not ordered:
        return None
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[timedelta], pct: int = PERCENTILE) -> timedelta | None:
    """The nearest-rank percentile: the least value with at least pct% of the values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(pct * len(ordered) / 100))
    return ordered[rank - 1]
