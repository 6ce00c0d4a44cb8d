"""The command line: parse arguments, call the service, print; errors as one sentence.

`smat-intake [--config PATH] COMMAND …`; PATH defaults to $SMAT_INTAKE_CONFIG, else
./config.toml (interface.md).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intake import __version__, config, logs
from intake.errors import ConfigError, IntakeError, NotFound
from intake.vocab import Kind, Status

if TYPE_CHECKING:
    from intake.delivery.outbox import DeliveryReport
    from intake.service import Service

# The service, database and mail libraries are imported inside the commands that need
# them, so that `--help` and a config mistake answer at once.

STATUSES = tuple(status.value for status in Status)
KINDS = tuple(kind.value for kind in Kind)

Handler = Callable[["config.Settings", argparse.Namespace], int]

# Command groups kept in modules of their own, so that cli.py stays the place that parses and
# dispatches rather than the home of every command. Each module has `add_parsers(commands)`
# (the argparse sub-parsers action) and `COMMANDS` (name -> handler, built with `with_service`
# where the command needs the service). Adding a group is one line here.
GROUPS: tuple[str, ...] = (
    "intake.cli_roster",
    "intake.cli_preview",
    "intake.cli_report",
    "intake.cli_personal",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; `--help` on it and on each command documents the interface."""
    parser = argparse.ArgumentParser(
        prog="smat-intake",
        description="The review desk behind the council's smat.info address: drafts, reports and questions "
        "arrive by email, are kept and queued, acknowledged, and sent to SMAT for review.",
        epilog="The config file defaults to $SMAT_INTAKE_CONFIG, else ./config.toml; see config.example.toml.",
    )
    parser.add_argument(
        "--config", metavar="PATH", help="the TOML config file (default: $SMAT_INTAKE_CONFIG or ./config.toml)"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log more detail")
    parser.add_argument(
        "--log-json", action="store_true", help="log one JSON object per line instead of key=value pairs"
    )
    parser.add_argument("--version", action="version", version=f"smat-intake {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    commands.add_parser(
        "init",
        help="create or upgrade the database to the newest migration and, when the config names no secret, "
        "make the reply-key secret file ([security] secret_file); safe to run again",
    )

    p = commands.add_parser(
        "run", help="the service: IMAP (IDLE or polling), the SMTP/LMTP listener, outbox delivery and scheduled jobs"
    )
    p.add_argument(
        "--backlog", action="store_true", help="also take in mail that was in the mailbox before the first run"
    )

    p = commands.add_parser("poll", help="one pass over the IMAP mailbox, then deliver the outbox")
    p.add_argument("--once", action="store_true", required=True, help="one pass, then exit (required)")
    p.add_argument(
        "--backlog", action="store_true", help="also take in mail that was in the mailbox before the first run"
    )

    commands.add_parser("deliver", help="deliver what waits in the outbox now")

    p = commands.add_parser("items", help="list items, newest first")
    p.add_argument("--json", action="store_true", help="print one JSON array")
    p.add_argument("--status", choices=STATUSES, help="only items in this state")
    p.add_argument("--kind", choices=KINDS, help="only drafts, reports or enquiries")

    p = commands.add_parser("show", help="one item with its whole history")
    p.add_argument("ref", metavar="REF", help="the item's reference, e.g. SMAT-2026-0042")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    commands.add_parser(
        "status",
        help="health for operators and monitoring: database at the newest migration, a login to the mailbox "
        "(IMAP) and to the relay (SMTP) that changes nothing, the last mailbox pass and delivery, what waits in "
        "the outbox and for how long, undeliverable and quarantined mail; exits non-zero with one line per problem",
    )

    p = commands.add_parser(
        "digest",
        help="the Town Clerk's digest for today: print it (changes nothing) or queue and deliver it (once a day)",
    )
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--print", action="store_true", dest="print_it", help="print today's digest as text")
    how.add_argument(
        "--send", action="store_true", help="queue and deliver today's digest; says so if it was already sent today"
    )

    p = commands.add_parser(
        "ingest", help="take in one message from a file (or - for standard input), as if it had arrived by mail"
    )
    p.add_argument("file", metavar="FILE.eml", help="the raw message")

    p = commands.add_parser(
        "check",
        help="screen one message (a file, or - for standard input) against the social media policy and print "
        "the flags reviewers would see; changes nothing and needs no database",
    )
    p.add_argument("file", metavar="FILE.eml", help="the raw message")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="screen as if it arrived on this day (default: today)")
    p.add_argument("--json", action="store_true", help="print the flags as one JSON array")
    for group in _groups():
        group.add_parsers(commands)
    return parser


def _groups() -> list[Any]:
    """The modules named in GROUPS, imported when the parser is built (not at import time)."""
    return [importlib.import_module(name) for name in GROUPS]


def handlers() -> dict[str, Handler]:
    """Every command's handler: the core ones below and each group's."""
    found = dict(COMMANDS)
    for group in _groups():
        found.update(group.COMMANDS)
    return found


def config_path(arg: str | None) -> Path:
    """--config, else $SMAT_INTAKE_CONFIG, else ./config.toml."""
    return Path(arg or os.environ.get("SMAT_INTAKE_CONFIG") or "config.toml")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `smat-intake` and `python -m intake`; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    redactor = logs.configure(args.verbose, args.log_json, sys.stderr)
    if not args.verbose:
        for noisy in ("apscheduler", "mail.log", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    # Token requests and answers pass through these: their debug output is never wanted, even with -v.
    for carrier in ("msal", "urllib3", "requests_oauthlib", "authlib", "google.auth"):
        logging.getLogger(carrier).setLevel(logging.WARNING)
    try:
        settings = config.load(config_path(args.config))
        redactor.add(logs.secrets_of(settings))
        return handlers()[args.command](settings, args)
    except IntakeError as exc:
        print(f"smat-intake: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    except KeyboardInterrupt:
        return 130


def cmd_init(settings: config.Settings, args: argparse.Namespace) -> int:
    from intake.store.db import make_engine, upgrade

    engine = make_engine(settings.database_url)
    try:
        revision = upgrade(engine)
    finally:
        engine.dispose()
    print(f"database ready at revision {revision}: {engine.url.render_as_string(hide_password=True)}")
    from intake.cli_roster import seed_registers

    print(seed_registers(settings))
    if config.ensure_secret_file(settings.security):
        print(f"reply-key secret made in {settings.security.secret_file} (readable by this user only; keep it)")
    return 0


def with_service(
    action: Callable[[Service, argparse.Namespace], int], needs_secret: bool = False
) -> Callable[[config.Settings, argparse.Namespace], int]:
    """A command run on a built service; one that signs reply keys first checks that the secret exists."""

    def command(settings: config.Settings, args: argparse.Namespace) -> int:
        from intake.service import Service

        if needs_secret:
            _ = settings.security.secret  # a ConfigError saying to run `init` if there is none yet
        service = Service.build(settings, logging.getLogger("intake"))
        try:
            return action(service, args)
        finally:
            service.close()

    return command


def cmd_run(service: Service, args: argparse.Namespace) -> int:
    from intake.service import run

    run(service, backlog=args.backlog)
    return 0


def cmd_poll(service: Service, args: argparse.Namespace) -> int:
    source = service.imap_source()
    if source is None:
        raise IntakeError(f"{service.settings.path}: [imap] is not configured, so there is no mailbox to poll.")
    from intake.store import instance

    lock = instance.hold(service.settings.database_url, "poll")  # not beside a running SQLite instance
    try:
        report = source.poll_once(backlog=args.backlog)
        service.mark("poll", f"took in {report.taken}")
        delivery = service.deliver()
    finally:
        lock.release()
    print(
        f"took in {report.taken} message(s), {report.duplicates} already known, moved {report.moved}; "
        f"sent {delivery.sent} message(s)"
        + (f", {delivery.waiting} waiting for the relay" if delivery.waiting else "")
        + (
            f"; left {report.left_alone} older message(s) alone (use --backlog to take them in)"
            if report.left_alone
            else ""
        )
        + ("; the mailbox is as the last look left it" if report.quiet else "")
    )
    return 0


def cmd_deliver(service: Service, args: argparse.Namespace) -> int:
    report = service.deliver_unless_running()
    if isinstance(report, str):
        print(f"nothing sent from here: {sent_by(report, service)}")
        return 0
    print(f"sent {report.sent}, deferred {report.deferred}, failed {report.failed}, waiting {report.waiting}")
    return 1 if report.problem else 0


def sent_by(pid: str, service: Service) -> str:
    """Where a command's mail goes when `run` serves the SQLite database (Service.deliver_unless_running)."""
    every = service.settings.outbox.retry_seconds
    return f"smat-intake (process {pid}) is running on this database and sends it within {every} s"


def delivered(report: DeliveryReport | str, service: Service) -> str:
    """What a command that queued mail says of its delivery."""
    if isinstance(report, str):
        return sent_by(report, service)
    return f"sent {report.sent}" + (f", {report.waiting} waiting for the relay" if report.waiting else "")


def cmd_items(service: Service, args: argparse.Namespace) -> int:
    from intake.store import queries
    from intake.views import item_to_dict, items_table, json_text

    tz = service.settings.council.tz
    with service.sessions() as session:
        items = queries.list_items(session, status=args.status, kind=args.kind)
        if args.json:
            print(json_text([item_to_dict(item, tz) for item in items]))
        else:
            print(items_table(items, tz))
    return 0


def cmd_show(service: Service, args: argparse.Namespace) -> int:
    from intake.store import queries
    from intake.views import item_text, item_to_dict, json_text

    tz = service.settings.council.tz
    with service.sessions() as session:
        item = queries.get_item(session, args.ref)
        if item is None:
            raise NotFound(f"there is no item {args.ref.strip().upper()}; `smat-intake items` lists them")
        if args.json:
            print(json_text(item_to_dict(item, tz, history=True)))
        else:
            print(item_text(item, tz))
    return 0


def cmd_digest(service: Service, args: argparse.Namespace) -> int:
    """Print today's digest, or send it unless today's has gone already (that is no error: exit 0)."""
    from intake.digest_mail import preview_digest

    if args.print_it:
        print(preview_digest(service.settings, service.sessions).as_text(), end="")
        return 0
    result = service.send_digest()
    if not result.sent:
        print(f"the digest for {result.day:%Y-%m-%d} was already sent (to {', '.join(result.recipients)})")
        return 0
    report = service.deliver_unless_running()
    print(f"digest for {result.day:%Y-%m-%d} queued for {', '.join(result.recipients)}; {delivered(report, service)}")
    return 0


def cmd_ingest(service: Service, args: argparse.Namespace) -> int:
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise IntakeError(f"{args.file}: cannot be read ({exc.strerror}).") from None
    outcome = service.ingest(raw, "file")
    report = service.deliver_unless_running()
    print(f"{outcome.classification}{' ' + outcome.ref if outcome.ref else ''}: {outcome.reason}")
    if isinstance(report, str) and outcome.mail_queued:
        print(f"its mail: {sent_by(report, service)}")
    return 0


def cmd_check(settings: config.Settings, args: argparse.Namespace) -> int:
    """Screen a message as a new draft would be screened, print the flags (high first); nothing is stored."""
    from datetime import date, datetime

    from intake.files import examine_files
    from intake.message import ParseError, parse
    from intake.pictures import PictureLimits
    from intake.screening import by_severity, screen_submission
    from intake.views import json_text

    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        day = date.fromisoformat(args.date) if args.date else datetime.now(settings.council.tz).date()
    except OSError as exc:
        raise IntakeError(f"{args.file}: cannot be read ({exc.strerror}).") from None
    except ValueError:
        raise IntakeError(f"--date {args.date!r} is not a date such as 2027-04-12.") from None
    try:
        msg = parse(raw)
    except ParseError as exc:
        raise IntakeError(f"{args.file}: could not be parsed: {exc.reason}.") from None
    given = settings.pictures
    limits = PictureLimits(
        max_side=given.max_side, max_bytes=given.max_bytes, max_pixels=given.max_pixels, max_frames=given.max_frames
    )
    files = examine_files(msg.attachments, limits, settings.limits.attach_per_mail_bytes)
    flags = by_severity(screen_submission(msg.subject, msg.text, files, day, settings))
    if args.json:
        print(json_text(flags))
    elif not flags:
        print("no policy flags: screening found nothing to point out (reviewers still read every draft)")
    else:
        print(f"{len(flags)} policy flag{'' if len(flags) == 1 else 's'}:")
        for flag in flags:
            print(f"  {flag['severity'].upper():<5} {flag['rule']} (policy {flag['section']}): {flag['excerpt']}")
    return 0


def cmd_status(settings: config.Settings, args: argparse.Namespace) -> int:
    from intake.delivery.relay import make_tokens
    from intake.status import check_all

    checks = check_all(settings, make_tokens(settings), logging.getLogger("intake.status"))
    for check in checks:
        print(check.line(), file=sys.stdout if check.ok else sys.stderr)
    return 0 if all(check.ok for check in checks) else 1


COMMANDS: dict[str, Handler] = {
    "init": cmd_init,
    "run": with_service(cmd_run, needs_secret=True),
    "poll": with_service(cmd_poll, needs_secret=True),
    "deliver": with_service(cmd_deliver, needs_secret=True),
    "items": with_service(cmd_items),
    "show": with_service(cmd_show),
    "digest": with_service(cmd_digest),
    "ingest": with_service(cmd_ingest, needs_secret=True),
    "check": cmd_check,
    "status": cmd_status,
}
