"""`smat-intake roster list|add|remove` and `accounts list|add|remove`: the two registers of policy 6.2.

Changes made here take effect at once (whoever runs the command line has the machine);
each is audited with `--by` (default: the login name) as its author.
"""

from __future__ import annotations

import argparse
import getpass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from intake.accounts import RegisteredAccount
from intake.cli import Handler, with_service
from intake.config import Settings, is_address
from intake.config.screening import PLATFORMS
from intake.errors import IntakeError
from intake.vocab import ROLE_LABELS, ROSTER_ROLES, Role

if TYPE_CHECKING:
    from intake.service import Service


def add_parsers(commands: Any) -> None:
    """The `roster` and `accounts` sub-commands."""
    p = commands.add_parser("roster", help="the SMAT roster held in the database (seeded from [[people]])")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = actions.add_parser("list", help="everyone on the roster, past and present")
    q.add_argument("--json", action="store_true", help="print one JSON array")
    q = actions.add_parser("add", help="put someone on the roster (or back on it)")
    q.add_argument("name", help='their name, as mail shows it ("Jo Bloggs")')
    q.add_argument("email", help="their roster address")
    q.add_argument("--role", choices=[r.value for r in ROSTER_ROLES], default=Role.SMAT.value, help="default: smat")
    q.add_argument("--by", help="who is making the change, for the audit log (default: your login name)")
    q = actions.add_parser("remove", help="take someone off the roster: their reply keys stop working at once")
    q.add_argument("email", help="any of their addresses")
    q.add_argument("--by", help="who is making the change, for the audit log (default: your login name)")

    p = commands.add_parser("accounts", help="the register of the council's social media accounts")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = actions.add_parser("list", help="the registered accounts")
    q.add_argument("--json", action="store_true", help="print one JSON array")
    q = actions.add_parser("add", help="register an account: POSTED can then name it")
    q.add_argument("platform", choices=list(PLATFORMS))
    q.add_argument("handle", help="the account's handle or page name (@BiggleswadeTC)")
    q.add_argument("--url", default="", help="the account's address")
    q.add_argument("--admin", default="", help="who administers it")
    q.add_argument("--by", help="who is making the change, for the audit log (default: your login name)")
    q = actions.add_parser("remove", help="take an account off the register")
    q.add_argument("platform", choices=list(PLATFORMS))
    q.add_argument("handle")
    q.add_argument("--by", help="who is making the change, for the audit log (default: your login name)")


def _by(args: argparse.Namespace) -> str:
    return args.by or f"{getpass.getuser()} (command line)"


def _when(at: datetime | None, settings: Settings) -> str:
    return f"{at.astimezone(settings.council.tz):%Y-%m-%d %H:%M}" if at else ""


def seed_registers(settings: Settings) -> str:
    """Copy [[people]] and [[accounts]] into empty tables (`init`); one line saying what was done."""
    from intake.store import accounts, roster
    from intake.store.db import make_engine, make_sessions
    from intake.store.unit import transaction

    engine = make_engine(settings.database_url)
    try:
        with transaction(make_sessions(engine), "seed the roster") as session:
            people = roster.seed(session, settings)
            registered = accounts.seed(session, settings.accounts)
    finally:
        engine.dispose()
    if not people and not registered:
        return "roster and account register are kept in the database ([[people]] and [[accounts]] only seed them)"
    return f"seeded the roster with {people} people and the register with {registered} account(s) from the config"


def cmd_roster(service: Service, args: argparse.Namespace) -> int:
    from intake.store import roster
    from intake.store.unit import reading, transaction
    from intake.views import json_text

    settings = service.settings
    if args.action == "list":
        with reading(service.sessions, "read the roster") as session:
            rows = roster.members(session)
            if not rows:  # never seeded: the config's roster is the one in use
                print("the roster is not in the database yet (run `smat-intake init`); the config's [[people]] is used")
                return 0
            data: list[dict[str, Any]] = [
                {
                    "name": r.name,
                    "email": r.email,
                    "role": r.role,
                    "active": r.active,
                    "other_addresses": list(r.other_addresses),
                    "added_at": _when(r.added_at, settings),
                    "added_by": r.added_by,
                    "removed_at": _when(r.removed_at, settings),
                    "removed_by": r.removed_by,
                    "awaiting_review": r.awaiting_review,
                }
                for r in rows
            ]
        if args.json:
            print(json_text(data))
            return 0
        for d in data:
            state = "active" if d["active"] else f"removed {d['removed_at']} by {d['removed_by']}"
            review = "  [awaiting the Clerk's review]" if d["awaiting_review"] else ""
            role = ROLE_LABELS.get(d["role"], d["role"])
            print(f"{d['name']} <{d['email']}>  {role}  {state}  (added {d['added_at']} by {d['added_by']}){review}")
        return 0
    if args.action == "add":
        if not is_address(args.email):
            raise IntakeError(f"{args.email!r} is not an email address.")
        with transaction(service.sessions, "change the roster") as session:
            row = roster.add_member(session, settings, args.name.strip(), args.email, args.role, _by(args))
            print(f"added {row.name} <{row.email}> to the roster as {ROLE_LABELS.get(row.role, row.role)}")
        return 0
    with transaction(service.sessions, "change the roster") as session:
        row = roster.remove_member(session, settings, args.email, _by(args))
        print(f"removed {row.name} <{row.email}> from the roster; their reply keys no longer work")
    return 0


def cmd_accounts(service: Service, args: argparse.Namespace) -> int:
    from intake.store import accounts
    from intake.store.unit import reading, transaction
    from intake.views import json_text

    if args.action == "list":
        with reading(service.sessions, "read the account register") as session:
            rows = [
                {"platform": a.platform, "handle": a.handle, "url": a.url, "administered_by": a.administered_by}
                for a in accounts.list_accounts(session)
            ]
        if args.json:
            print(json_text(rows))
        elif not rows:
            print("no accounts are registered; add them with `smat-intake accounts add PLATFORM HANDLE`")
        for r in [] if args.json else rows:
            admin = f"  administered by {r['administered_by']}" if r["administered_by"] else ""
            print(f"{r['platform']} {r['handle']}  {r['url']}{admin}".rstrip())
        return 0
    if args.action == "add":
        account = RegisteredAccount(args.platform, args.handle.strip(), args.url.strip(), args.admin.strip())
        with transaction(service.sessions, "change the account register") as session:
            accounts.seed(session, service.settings.accounts)  # the config's, first, if never seeded
            accounts.add_account(session, account, _by(args))
        print(f"registered {account.label}")
        return 0
    with transaction(service.sessions, "change the account register") as session:
        accounts.seed(session, service.settings.accounts)
        row = accounts.remove_account(session, args.platform, args.handle, _by(args))
        print(f"removed {row.platform} {row.handle} from the register")
    return 0


COMMANDS: dict[str, Handler] = {
    "roster": with_service(cmd_roster),
    "accounts": with_service(cmd_accounts),
}
