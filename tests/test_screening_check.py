"""`smat-intake check FILE.eml` (issue 9): what screening says of a message, through the command line.

It needs no database: the config names one that does not exist, and it must still not exist
afterwards.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from samples import draft
from support import run_cli, write_config


def check(config: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    """`smat-intake --config CONFIG check …`, through the command line's own entry point, in this process."""
    return run_cli(["--config", str(config), "check", *args], cwd=config.parent, stdin=stdin)


def test_check_prints_the_flags_high_first_and_touches_no_database(tmp_path):
    config = write_config(tmp_path)
    with config.open("a", encoding="utf-8") as file:
        file.write("\n[screening]\npre_election = [{ start = 2027-03-25, end = 2027-05-06 }]\n")
    message = tmp_path / "draft.eml"
    body = "Ring me on 07700 900777. Vote for the Greens: Cllr Brian Ward is a liar."
    message.write_bytes(draft(subject="Election", body=body, photos=1))

    result = check(config, str(message), "--date", "2027-04-12")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "4 policy flags:"
    assert [line.split()[:2] for line in lines[1:]] == [
        ["HIGH", "political"],
        ["HIGH", "defamation"],
        ["WARN", "personal_data"],
        ["WARN", "pictures"],
    ]
    assert not (tmp_path / "var").exists()  # no database made, nothing written

    result = check(config, "-", "--json", "--date", "2026-06-15", stdin=message.read_bytes())
    flags = json.loads(result.stdout)
    assert [(f["rule"], f["severity"]) for f in flags] == [
        ("defamation", "high"),
        ("personal_data", "warn"),
        ("political", "warn"),
        ("pictures", "warn"),
    ]
    assert all(set(f) == {"rule", "section", "severity", "excerpt"} for f in flags)


def test_check_says_so_when_there_is_nothing_to_flag(tmp_path):
    config = write_config(tmp_path)
    message = tmp_path / "draft.eml"
    message.write_bytes(draft(subject="Fete", body="The summer fete is on Saturday on the Common from noon."))
    result = check(config, str(message))
    assert result.returncode == 0
    assert result.stdout.startswith("no policy flags")


def test_check_names_a_bad_file_or_date_in_one_line(tmp_path):
    config = write_config(tmp_path)
    result = check(config, str(tmp_path / "missing.eml"))
    assert result.returncode == 1 and "cannot be read" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "d.eml").write_bytes(draft())
    result = check(config, str(tmp_path / "d.eml"), "--date", "soon")
    assert result.returncode == 1 and "is not a date" in result.stderr
