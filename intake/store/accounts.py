"""The register of the council's social media accounts (policy 6.2): where a POSTED draft may go out.

Seeded from the config's [[accounts]] when the table is empty; changed with `smat-intake
accounts add|remove`; every change audited. The monthly report reads `list_accounts`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from intake.accounts import RegisteredAccount
from intake.errors import IntakeError
from intake.store.audit import audit
from intake.store.db import Session
from intake.store.models import SocialAccount, utcnow
from intake.vocab import AuditArea, RosterAction

CONFIG_SEED = "config file"


class AccountError(IntakeError):
    """An account-register change that cannot be made (unknown account, already registered)."""


def list_accounts(session: Session, include_removed: bool = False) -> Sequence[SocialAccount]:
    """The registered accounts, by platform and handle; removed ones only when asked for."""
    query = select(SocialAccount).order_by(SocialAccount.platform, SocialAccount.handle)
    if not include_removed:
        query = query.where(SocialAccount.active.is_(True))
    return session.scalars(query).all()


def registered(session: Session) -> tuple[RegisteredAccount, ...]:
    """The active accounts as plain values, for the POSTED rule."""
    return tuple(RegisteredAccount(a.platform, a.handle, a.url, a.administered_by) for a in list_accounts(session))


def seed(session: Session, accounts: Sequence[RegisteredAccount]) -> int:
    """Copy the config's [[accounts]] into an empty register, audited; how many were added."""
    if session.scalar(select(func.count()).select_from(SocialAccount)):
        return 0
    for account in accounts:
        _insert(session, account, CONFIG_SEED)
    session.flush()
    return len(accounts)


def add_account(session: Session, account: RegisteredAccount, actor: str) -> SocialAccount:
    """Register an account (or register a removed one again), audited."""
    row = _find(session, account.platform, account.handle)
    if row is not None and row.active:
        raise AccountError(f"{_label(row)} is already registered")
    if row is None:
        row = _insert(session, account, actor)
    else:
        row.active, row.url, row.administered_by = True, account.url, account.administered_by
        row.added_at, row.added_by, row.removed_at, row.removed_by = utcnow(), actor, None, ""
        audit(session, AuditArea.ACCOUNTS, RosterAction.ADDED, actor, _label(row), _detail(row))
    session.flush()
    return row


def remove_account(session: Session, platform: str, handle: str, actor: str) -> SocialAccount:
    """Take an account off the register, audited; POSTED can no longer name it."""
    row = _find(session, platform, handle)
    if row is None or not row.active:
        raise AccountError(f"{platform} {handle} is not a registered account; `smat-intake accounts list` shows them")
    row.active, row.removed_at, row.removed_by = False, utcnow(), actor
    audit(session, AuditArea.ACCOUNTS, RosterAction.REMOVED, actor, _label(row), _detail(row))
    session.flush()
    return row


def _find(session: Session, platform: str, handle: str) -> SocialAccount | None:
    wanted = handle.strip().lstrip("@").lower()
    for row in session.scalars(select(SocialAccount).where(SocialAccount.platform == platform.strip().lower())):
        if row.handle.lstrip("@").lower() == wanted:
            return row
    return None


def _insert(session: Session, account: RegisteredAccount, actor: str) -> SocialAccount:
    row = SocialAccount(
        platform=account.platform.lower(),
        handle=account.handle,
        url=account.url,
        administered_by=account.administered_by,
        active=True,
        added_at=utcnow(),
        added_by=actor,
        removed_by="",
    )
    session.add(row)
    audit(
        session,
        AuditArea.ACCOUNTS,
        RosterAction.SEEDED if actor == CONFIG_SEED else RosterAction.ADDED,
        actor,
        _label(row),
        _detail(row),
    )
    return row


def _label(row: SocialAccount) -> str:
    return f"{row.platform} {row.handle}"


def _detail(row: SocialAccount) -> str:
    return ", ".join(x for x in (row.url, f"administered by {row.administered_by}" if row.administered_by else "") if x)
