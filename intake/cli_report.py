"""`smat-intake report`: the monthly report for the committee (Appendix A), printed or sent once a month."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING, Any

from intake.cli import Handler, delivered, with_service

if TYPE_CHECKING:
    from intake.service import Service


def add_parsers(commands: Any) -> None:
    """The `report` command's parser."""
    p = commands.add_parser(
        "report",
        help="the monthly report for the committee (Appendix A): print it (changes nothing) or queue and deliver "
        "it to the Town Clerk with its chart and CSV (once a month)",
    )
    p.add_argument("--month", metavar="YYYY-MM", help="the month, e.g. 2026-11 (default: last month)")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--print", action="store_true", dest="print_it", help="print the month's report as text")
    how.add_argument(
        "--send",
        action="store_true",
        help="queue and deliver the report for a month that is over; says so if it was already sent",
    )


def cmd_report(service: Service, args: argparse.Namespace) -> int:
    """Print a month's report, or send it unless it has gone already (that is no error: exit 0)."""
    from intake.monthly_facts import previous_month
    from intake.monthly_mail import parse_month, preview_report

    settings = service.settings
    month = parse_month(args.month) if args.month else previous_month(datetime.now(settings.council.tz).date())
    if args.print_it:
        print(preview_report(settings, service.sessions, month).as_text(), end="")
        return 0
    result = service.send_report(month)
    if not result.sent:
        print(f"the report for {month:%Y-%m} was already sent (to {', '.join(result.recipients)})")
        return 0
    report = service.deliver_unless_running()
    print(f"report for {month:%Y-%m} queued for {', '.join(result.recipients)}; {delivered(report, service)}")
    return 0


COMMANDS: dict[str, Handler] = {"report": with_service(cmd_report)}
