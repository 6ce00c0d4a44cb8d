"""The council's registered social media accounts as plain values, and which one a POSTED names.

Pure: the register is read by the store (`store/accounts.py`) and passed in, so the POSTED
rule can refuse a post "on" an account the council does not run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RegisteredAccount:
    """One account: its platform, its handle or page name, its address, and who administers it."""

    platform: str
    handle: str
    url: str = ""
    administered_by: str = ""

    @property
    def label(self) -> str:
        """How the account is named in mail and lists: "facebook BiggleswadeTownCouncil"."""
        return f"{self.platform} {self.handle}"


def _bare(word: str) -> str:
    return word.strip().strip(".,;:()<>").lstrip("@").lower()


def _under(url: str, base: str) -> bool:
    """Whether a link is the account's address or below it, scheme and www aside."""

    def norm(u: str) -> str:
        u = u.strip().lower().split("://", 1)[-1]
        return u.removeprefix("www.").rstrip("/")

    return bool(base) and (norm(url) == norm(base) or norm(url).startswith(norm(base) + "/"))


def named_account(argument: str, accounts: Sequence[RegisteredAccount]) -> RegisteredAccount | None:
    """The registered account a POSTED argument names: by handle, by a link under its address, or by
    its platform when the council has only one account there; None if it names none of them."""
    words = [w for w in argument.split() if w.strip()]
    for word in words:
        for account in accounts:
            if _bare(word) and _bare(word) == _bare(account.handle):
                return account
            if "/" in word and _under(word, account.url):
                return account
    for word in words:
        on_platform = [a for a in accounts if a.platform.lower() == _bare(word)]
        if len(on_platform) == 1:
            return on_platform[0]
    return None
