"""Screening accuracy and speed on the labelled set (tests/data/screening/cases.toml).

    .venv/bin/python bench/screening.py            # the table: precision and recall per rule, times
    .venv/bin/python bench/screening.py --misses   # also every case where a rule was wrong

Each case lists the rules that must flag it (`expect`) and those whose flag must be high
(`high`); every other rule must stay silent. Precision and recall are counted per rule over
cases; "high recall" is the share of expected high flags raised high. Times are per draft,
every rule on, after one warm-up pass. tests/test_screening.py asserts the accuracy targets
from `measure` (never the times).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data" / "screening"
sys.path.insert(0, str(REPO))

from intake import config  # noqa: E402
from intake.config import Account, Settings  # noqa: E402
from intake.screening import RULES, Draft, Flag, screen  # noqa: E402

DEFAULT_DAY = date(2026, 6, 15)


@dataclass(frozen=True)
class Case:
    """One labelled draft: what it is, and which rules must flag it (and which of those high)."""

    name: str
    draft: Draft
    expect: frozenset[str]
    high: frozenset[str]
    benign: bool
    accounts: tuple[Account, ...] = ()


@dataclass
class Score:
    """Counts for one rule over the set."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    high_expected: int = 0
    high_raised: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def high_recall(self) -> float:
        return self.high_raised / self.high_expected if self.high_expected else 1.0


@dataclass
class Result:
    """The whole measurement: a score per rule, benign drafts that got a high flag, times in ms."""

    scores: dict[str, Score]
    benign_high: list[str]
    times_ms: list[float]

    @property
    def precision(self) -> float:
        tp = sum(s.tp for s in self.scores.values())
        fp = sum(s.fp for s in self.scores.values())
        return tp / (tp + fp) if tp + fp else 1.0


def load_settings() -> Settings:
    """The settings the labelled set is screened with."""
    return config.load(DATA / "settings.toml")


def load_cases(path: Path = DATA / "cases.toml") -> list[Case]:
    """Every case in the labelled set."""
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    cases = []
    for entry in data["case"]:
        draft = Draft(entry["subject"], entry["text"], entry.get("pictures", 0), entry.get("date", DEFAULT_DAY))
        accounts = tuple(Account(a["platform"], a.get("handle", "")) for a in entry.get("accounts", []))
        cases.append(
            Case(
                entry["name"],
                draft,
                frozenset(entry["expect"]),
                frozenset(entry.get("high", [])),
                entry.get("benign", False),
                accounts,
            )
        )
    return cases


def settings_for(settings: Settings, case: Case) -> Settings:
    """The set's settings with the case's own accounts."""
    return replace(settings, screening=replace(settings.screening, accounts=case.accounts))


def measure(cases: list[Case], settings: Settings, rounds: int = 1) -> Result:
    """Screen every case, score each rule, and time each draft (the best of *rounds*)."""
    scores = {rule.ID: Score() for rule in RULES}
    benign_high: list[str] = []
    times: list[float] = []
    for case in cases:
        own = settings_for(settings, case)
        flags: tuple[Flag, ...] = ()
        best = float("inf")
        for _ in range(rounds):
            start = time.perf_counter()
            flags = screen(case.draft, own)
            best = min(best, (time.perf_counter() - start) * 1000)
        times.append(best)
        raised = {flag.rule: flag for flag in flags}
        for rule, score in scores.items():
            wanted, got = rule in case.expect, rule in raised
            score.tp += wanted and got
            score.fp += got and not wanted
            score.fn += wanted and not got
            if wanted != got:
                score.misses.append(f"{case.name}: {'missed' if wanted else 'raised'} {raised.get(rule)}")
            if rule in case.high:
                score.high_expected += 1
                if got and raised[rule].severity == "high":
                    score.high_raised += 1
                else:
                    score.misses.append(f"{case.name}: not high: {raised.get(rule)}")
        if case.benign and any(flag.severity == "high" for flag in flags):
            benign_high.append(case.name)
    return Result(scores, benign_high, times)


def table(result: Result, cases: int) -> str:
    """The result as a Markdown table, with the overall figures below it."""
    lines = [
        "| rule | flagged (expected) | precision | recall | high raised / expected |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rule, s in result.scores.items():
        high = f"{s.high_raised}/{s.high_expected}" if s.high_expected else "-"
        lines.append(f"| {rule} | {s.tp + s.fp} ({s.tp + s.fn}) | {s.precision:.2f} | {s.recall:.2f} | {high} |")
    times = sorted(result.times_ms)
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    lines += [
        "",
        f"{cases} drafts; precision overall {result.precision:.2f}; "
        f"benign drafts with a high flag: {len(result.benign_high)}; "
        f"time per draft: median {statistics.median(times):.2f} ms, 99th percentile {p99:.2f} ms",
    ]
    return "\n".join(lines)


def main() -> int:
    """Print the table (and, with --misses, every wrong call)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--misses", action="store_true", help="list every case a rule got wrong")
    parser.add_argument("--rounds", type=int, default=5, help="time each draft this many times, keep the best")
    args = parser.parse_args()
    cases, settings = load_cases(), load_settings()
    measure(cases, settings)  # warm-up: word lists and patterns loaded
    result = measure(cases, settings, rounds=args.rounds)
    print(table(result, len(cases)))
    if args.misses:
        for rule, score in result.scores.items():
            for miss in score.misses:
                print(f"{rule}: {miss}")
        for name in result.benign_high:
            print(f"benign with a high flag: {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
