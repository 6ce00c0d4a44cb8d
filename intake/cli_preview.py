"""`smat-intake preview`: every kind of mail written out with sample data, for whoever edits the templates."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from intake import config

HELP = (
    "write one example of every kind of mail (for each reader it differs for) as .eml and .html, from the "
    "templates and this config with sample data; touches no database and sends nothing"
)


def add_parsers(commands: Any) -> None:
    """The `preview` sub-command."""
    p = commands.add_parser("preview", help=HELP)
    p.add_argument("--out", metavar="DIR", default="preview", help="the folder to write into (default: ./preview)")
    p.add_argument(
        "--templates", metavar="DIR", help="preview these templates instead of the installed ones (a copy being edited)"
    )


def cmd_preview(settings: config.Settings, args: argparse.Namespace) -> int:
    """Write the examples; exit 1 naming any kind of mail that has no example or could not be made."""
    from intake.preview import write_preview

    if not args.verbose:
        logging.getLogger("intake.preview").setLevel(logging.WARNING)
    out = Path(args.out)
    result = write_preview(settings, out, Path(args.templates) if args.templates else None)
    pages = [p for p in result.written if p.suffix == ".html" and p.name != "index.html"]
    print(f"wrote {len(pages)} example mails to {out}/ (open {out / 'index.html'})")
    for problem in result.problems:
        print(f"smat-intake: preview: {problem}", file=sys.stderr)
    for sample in result.missing:
        print(
            f"smat-intake: preview: no {sample.template} mail to {sample.reader} came of step {sample.step!r}",
            file=sys.stderr,
        )
    for folder in result.unsampled:
        print(
            f"smat-intake: preview: templates/{folder}/ has no example in intake/preview_samples.py SAMPLES",
            file=sys.stderr,
        )
    return 1 if result.problems or result.missing or result.unsampled else 0


COMMANDS = {"preview": cmd_preview}
