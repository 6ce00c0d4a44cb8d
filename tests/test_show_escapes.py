"""A draft's terminal escapes reach `show` and `items` visibly, never raw (issue 7 item 11)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support import write_config

from intake import cli
from intake.views import json_text, terminal_safe

# Clear the screen, a colour, an OSC 8 hyperlink ended by BEL, a C1 CSI, backspaces over
# a word, a carriage return rewriting a line, and a right-to-left override.
ESCAPES = (
    "Dear SMAT,\n\x1b[2J\x1b[31mred\x1b[0m and \x1b]8;;https://evil.example/\x07click\x1b]8;;\x07\n"
    "\u009b1mbold\u009b0m tab\there kept\nsafe\x08\x08\x08\x08evil\ncar\rriage \u202etxt.exe\n"
)
RAW = ("\x1b", "\x07", "\x08", "\r", "\u009b", "\u202e")


def draft() -> bytes:
    head = (
        "From: Jane Drafter <jane@example.org>\r\nTo: smat.info@town.example\r\n"
        "Subject: Litter pick\r\nDate: Mon, 02 Nov 2026 09:00:00 +0000\r\nMessage-ID: <esc@example.org>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return head.encode() + ESCAPES.replace("\n", "\r\n").encode("utf-8")


@pytest.fixture
def stored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    """A config, `init`, and the draft ingested through the CLI; its reference."""
    config = write_config(tmp_path)
    eml = tmp_path / "draft.eml"
    eml.write_bytes(draft())
    assert cli.main(["--config", str(config), "init"]) == 0
    assert cli.main(["--config", str(config), "ingest", str(eml)]) == 0
    match = re.search(r"^draft (SMAT-\S+):", capsys.readouterr().out, re.M)
    assert match
    return config, match.group(1)


def test_show_prints_escapes_visibly(stored: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    config, ref = stored
    assert cli.main(["--config", str(config), "show", ref]) == 0
    out = capsys.readouterr().out
    assert not [c for c in RAW if c in out]
    assert "␛[2J␛[31mred␛[0m" in out
    assert "␛]8;;https://evil.example/␇click" in out
    assert "\\u009b1mbold" in out and "\\u202etxt.exe" in out
    assert "safe␈␈␈␈evil" in out
    assert "tab\there kept" in out  # tabs and newlines are layout, kept


def test_items_and_show_json_keep_the_text_but_escape_it(
    stored: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config, ref = stored
    assert cli.main(["--config", str(config), "show", ref, "--json"]) == 0
    out = capsys.readouterr().out
    assert not [c for c in RAW if c in out]
    text = json.loads(out)["text"]
    assert "\x1b[2J" in text and "\u009b1m" in text and "\u202e" in text  # the stored text, unchanged
    assert cli.main(["--config", str(config), "items"]) == 0
    listed = capsys.readouterr().out
    assert ref in listed and not [c for c in RAW if c in listed]


@pytest.mark.parametrize(
    "given, shown",
    [("a\x1bb", "a␛b"), ("a\nb", "a␊b"), ("\x7f", "␡"), ("\u0085", "\\u0085"), ("\u2028", "\\u2028"), ("\té", "\té")],
)
def test_terminal_safe_on_one_line(given: str, shown: str) -> None:
    assert terminal_safe(given) == shown


def test_json_text_is_the_same_json() -> None:
    value = {"text": "a\x1b\u009b\u202e\u2028\x7fb\n", "list": [1, "é"]}
    dumped = json_text(value)
    assert json.loads(dumped) == value
    assert "é" in dumped and not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u202e]", dumped)
