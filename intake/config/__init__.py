"""TOML -> frozen, validated settings; every mistake names the file and the key.

The whole file is checked once at start, so that a typo in `[imap] hostname` is reported
before anything runs rather than discovered at three in the morning. Loading only reads:
the reply-key secret file is made by `smat-intake init` (`ensure_secret_file`).

The sections and their keys are declared once, in `sections.TABLE`; `reader` walks it and
builds the dataclasses of `settings`.
"""

from __future__ import annotations

from intake.config.addresses import is_address, untagged
from intake.config.reader import from_dict, load
from intake.config.secret import ensure_secret_file
from intake.config.sections import SECTIONS, SECURITY_MODES
from intake.config.settings import (
    Account,
    Council,
    Digest,
    Imap,
    Limits,
    Listener,
    Mailbox,
    OAuth2,
    Outbox,
    Period,
    Person,
    Pictures,
    Review,
    Screening,
    Security,
    Settings,
    Smtp,
)
from intake.errors import ConfigError

__all__ = [
    "SECTIONS",
    "SECURITY_MODES",
    "Account",
    "ConfigError",
    "Council",
    "Digest",
    "Imap",
    "Limits",
    "Listener",
    "Mailbox",
    "OAuth2",
    "Outbox",
    "Period",
    "Person",
    "Pictures",
    "Review",
    "Screening",
    "Security",
    "Settings",
    "Smtp",
    "ensure_secret_file",
    "from_dict",
    "is_address",
    "load",
    "untagged",
]
