"""Personal data commands: `export --sender` (subject access), `erase --sender`, and `retention`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intake.cli import Handler, with_service

if TYPE_CHECKING:  # the service and store load only when a command runs, so --help answers at once
    from intake.service import Service
    from intake.store.personal_data import ErasureReport


def add_parsers(commands: Any) -> None:
    """The sub-commands of this group."""
    p = commands.add_parser(
        "export",
        help="a subject access export: everything held about one person (items, messages as received, files, "
        "history naming them, mail sent to them) as one zip file",
    )
    p.add_argument("--sender", metavar="ADDRESS", required=True, help="the person's email address")
    p.add_argument("--out", metavar="FILE", help="the zip file to write (default: smat-intake-export-….zip here)")

    p = commands.add_parser(
        "erase",
        help="erase what is held about one person, except public record (published posts and their approvals); "
        "says what was erased, and what was kept and why",
    )
    p.add_argument("--sender", metavar="ADDRESS", required=True, help="the person's email address")

    p = commands.add_parser(
        "retention",
        help="erase the personal data of items never published once [retention] unpublished_months have passed "
        "(the service does this every night); --dry-run says what would go",
    )
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--dry-run", action="store_true", help="say what would be erased; change nothing")
    how.add_argument("--apply", action="store_true", help="erase it now")


def cmd_export(service: Service, args: argparse.Namespace) -> int:
    """Write the subject access export and say what it holds."""
    from intake.personal import gather
    from intake.store.models import utcnow
    from intake.subject_access import default_name, write_export

    settings = service.settings
    held = gather(settings, service.sessions, args.sender)
    now = utcnow()
    out = Path(args.out) if args.out else default_name(args.sender, now.astimezone(settings.council.tz))
    counts = write_export(held, args.sender.strip(), settings.council.name, out, settings.council.tz, now)
    print(f"wrote {out}: " + ", ".join(f"{count} {what}" for what, count in counts.items()))
    if not any(counts.values()):
        print(f"nothing is held about {args.sender.strip()}")
    return 0


def cmd_erase(service: Service, args: argparse.Namespace) -> int:
    """Erase a person's data except public record, and report it."""
    from intake.personal import erase_person

    report = erase_person(service.settings, service.sessions, args.sender)
    print(_erased_line(report, f"erased what was held about {args.sender.strip()}"))
    _print_kept(report)
    return 0


def cmd_retention(service: Service, args: argparse.Namespace) -> int:
    """Apply the retention period now, or say what it would erase."""
    from intake.personal import run_retention

    months = service.settings.retention.unpublished_months
    report = run_retention(service.settings, service.sessions, apply=args.apply)
    if args.dry_run:
        refs = ", ".join(report.erased_items) or "no items"
        print(
            f"would erase the personal data of {len(report.erased_items)} item(s) not published within {months} "
            f"months ({refs}) and {report.messages} other message(s); nothing was changed"
        )
        return 0
    print(_erased_line(report, f"retention ({months} months)"))
    _print_kept(report)
    return 0


def _erased_line(report: ErasureReport, what: str) -> str:
    if not report.anything:
        return f"{what}: nothing to erase"
    refs = f" ({', '.join(report.erased_items)})" if report.erased_items else ""
    return (
        f"{what}: {len(report.erased_items)} item(s) anonymised{refs}, {report.messages} message(s), "
        f"{report.attachments} file(s), {report.outgoing} outgoing mail, {report.history_lines} history line(s)"
    )


def _print_kept(report: ErasureReport) -> None:
    for what, why in report.kept:
        print(f"kept {what}: {why}")


COMMANDS: dict[str, Handler] = {
    "export": with_service(cmd_export),
    "erase": with_service(cmd_erase),
    "retention": with_service(cmd_retention),
}
