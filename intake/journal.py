"""Moved to store/: history lines to `intake.store.history`, queued mail to `intake.store.outbox`.

Kept only so that callers not yet moved keep working; import from store/ in new code.
"""

from __future__ import annotations

from intake.store.history import add_event
from intake.store.outbox import queue_keyed_mail, queue_mail

__all__ = ["add_event", "queue_keyed_mail", "queue_mail"]
