"""Addresses as the config and the roster compare them: a plain addr-spec, a sub-address tag set aside,
a display name compared loosely."""

from __future__ import annotations

import re

_ADDRESS = re.compile(
    r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


def is_address(value: str) -> bool:
    """True for a plain addr-spec such as clerk@example.org (no display name)."""
    return bool(_ADDRESS.match(value))


def name_key(name: str) -> str:
    """A display name compared loosely: case, quotes and runs of spacing aside."""
    return " ".join(name.replace('"', " ").replace("'", " ").casefold().split())


def untagged(email: str) -> str:
    """An address lower-cased and without its sub-address tag: Member+Drafts@X is member@x.

    One mailbox under many names; the tag is the part after the first "+" of the local part.
    """
    local, at, domain = email.strip().lower().rpartition("@")
    if not at:
        return email.strip().lower()
    return f"{local.split('+', 1)[0]}@{domain}"
