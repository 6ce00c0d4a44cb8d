"""Roster commands by email (policy 6.2): `ADD SMAT Name <address>`, `REMOVE SMAT address`, and `CONFIRM`.

Pure: reading a command out of a new mail's first line (or its subject), and who may ask
for one. Asking changes nothing: the change is made only by a CONFIRM to the keyed
confirmation mail sent to the asker's roster address (`roster_step.py`), because a From
header proves nothing (design.md, "What authorises a change").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from intake.config import is_address
from intake.vocab import CLERK_ROLES, Role, RosterAction

_ADD = re.compile(r"^\s*ADD\s+SMAT\s+(?P<name>[^<>]*?)\s*<\s*(?P<email>[^<>\s]+)\s*>\s*$", re.IGNORECASE)
_ADD_BARE = re.compile(r"^\s*ADD\s+SMAT\s+(?P<name>.*?)\s*(?P<email>[^\s<>]+@[^\s<>]+)\s*$", re.IGNORECASE)
_REMOVE = re.compile(r"^\s*REMOVE\s+SMAT\s+<?\s*(?P<email>[^<>\s]+)\s*>?\s*$", re.IGNORECASE)
_CONFIRM = re.compile(r"^\s*CONFIRM\b", re.IGNORECASE)
_LOOKS_LIKE = re.compile(r"^\s*(ADD|REMOVE)\s+SMAT\b", re.IGNORECASE)

COMMANDS = "ADD SMAT Name <address> or REMOVE SMAT address"
USAGE = f"{COMMANDS}, on the first line of a new mail"


@dataclass(frozen=True)
class RosterCommand:
    """A change asked for: added or removed, whom; `problem` says why it cannot be read as asked."""

    action: RosterAction
    email: str = ""
    name: str = ""
    problem: str = ""

    @property
    def label(self) -> str:
        """The change in words: "add Jo Bloggs <jo@x> to SMAT"."""
        who = f"{self.name} <{self.email}>" if self.name else self.email
        return f"add {who} to SMAT" if self.action == RosterAction.ADDED else f"remove {who} from SMAT"


def _first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")


def read(text: str, subject: str = "") -> RosterCommand | None:
    """The roster command on the first line of a new mail, else in its subject; None if it is not one."""
    for line in (_first_line(text), subject):
        if not _LOOKS_LIKE.match(line):
            continue
        if found := _ADD.match(line) or _ADD_BARE.match(line):
            email, name = found["email"].strip().lower(), found["name"].strip().strip('"').strip()
            if not is_address(email):
                return RosterCommand(RosterAction.ADDED, email, name, f"“{email}” is not an email address")
            if not name:
                return RosterCommand(RosterAction.ADDED, email, "", "the new member's name is missing")
            return RosterCommand(RosterAction.ADDED, email, name)
        if found := _REMOVE.match(line):
            email = found["email"].strip().lower()
            problem = "" if is_address(email) else f"“{email}” is not an email address"
            return RosterCommand(RosterAction.REMOVED, email, "", problem)
        action = RosterAction.ADDED if line.strip().upper().startswith("ADD") else RosterAction.REMOVED
        return RosterCommand(action, problem=f"it could not be read; write {USAGE}")
    return None


def is_confirm(text: str) -> bool:
    """Whether a reply's new text starts with CONFIRM."""
    return bool(_CONFIRM.match(_first_line(text)))


def may_change_roster(role: str) -> bool:
    """Only the Town Clerk and the Deputy Town Clerk change the roster by email (policy 6.2, 10)."""
    return role in CLERK_ROLES


def needs_review(role: str) -> bool:
    """A change the Deputy makes stays marked for the Clerk's review until the Clerk confirms it."""
    return role == Role.DEPUTY_CLERK
