"""Screening (issue 9): each rule on a table of drafts, the [screening] settings, and the labelled set's targets.

The labelled set (tests/data/screening/cases.toml) is measured by bench/screening.py's
`measure`; accuracy is deterministic, so its targets are asserted here. Times are printed by
the benchmark only.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from support import settings_for

from intake import config
from intake.config.screening import RULE_IDS
from intake.errors import ConfigError
from intake.screening import RULES, Draft, by_severity, screen

BENCH = Path(__file__).resolve().parent.parent / "bench" / "screening.py"


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_screening", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _bench()


@pytest.fixture(scope="module")
def settings() -> config.Settings:
    return bench.load_settings()


def flags_of(settings: config.Settings, text: str, pictures: int = 0, day: date = date(2026, 6, 15), subject: str = ""):
    return {flag.rule: flag for flag in screen(Draft(subject, text, pictures, day), settings)}


# --- the labelled set ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def result(settings):
    cases = bench.load_cases()
    assert len(cases) >= 60
    assert sum(case.benign for case in cases) >= 20
    return bench.measure(cases, settings)


def test_the_labelled_set_meets_the_recall_targets(result):
    assert result.scores["personal_data"].recall >= 0.95, result.scores["personal_data"].misses
    for rule in ("offensive", "defamation"):  # high by default
        assert result.scores[rule].recall >= 0.9, result.scores[rule].misses
    for rule, score in result.scores.items():  # every rule that must raise a high flag does so
        if score.high_expected:
            assert score.high_recall >= 0.9, (rule, score.misses)


def test_the_labelled_set_meets_the_precision_target(result):
    assert result.precision >= 0.8, {rule: s.misses for rule, s in result.scores.items() if s.fp}


def test_no_plainly_benign_draft_gets_a_high_flag(result):
    assert result.benign_high == []


def test_every_rule_is_measured_and_known_to_the_config():
    assert tuple(rule.ID for rule in RULES) == RULE_IDS
    cases = bench.load_cases()
    for rule in RULE_IDS:
        assert any(rule in case.expect for case in cases), f"no case expects {rule}"


# --- rule by rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("Ring Sarah on 07700 900461 if he is yours.", "warn"),
        ("Call (01767) 600123 for tickets.", "warn"),
        ("Text +44 7700 900982 to describe it.", "warn"),
        ("Contact dave.harris62@gmail.com to help.", "warn"),
        ("The hedge at 14 Drove Road blocks the path.", "warn"),
        ("Sale at Mrs Patel's, Laurel Close, Biggleswade SG18 0QX.", "warn"),
        ("His NI number is JT 12 34 56 C.", "high"),
        ("Edna Cole, date of birth 14 March 1926, is 100.", "high"),
        ("Missing: John Doe, DOB 03/07/1958.", "high"),
        ("Pay to sort code 20-45-77, account number 43218765.", "high"),
        ("A car, registration KX19 ABC, was left.", "warn"),
        ("CONFIDENTIAL: the precept rises 2.9%.", "high"),
        ("Internal only: the office is short staffed.", "high"),
        ("Not for publication until the committee meets.", "high"),
    ],
)
def test_personal_data_is_flagged(settings, text, severity):
    flag = flags_of(settings, text)["personal_data"]
    assert flag.severity == severity and flag.section == "6.6" and flag.excerpt


@pytest.mark.parametrize(
    "text",
    [
        "Call the office on 01767 313134 or email office@biggleswadetowncouncil.gov.uk.",  # the council's own
        "Central Bedfordshire Council: 0300 300 8000.",  # an organisation's line
        "Quote crime reference 40/12345/26 to Bedfordshire Police on 101.",
        "At the Weatherley Centre, Eagle Farm Road, Biggleswade SG18 8JH.",  # a venue
        "The Old Court House, Saffron Road, Biggleswade SG18 8DL.",  # the council's office
        "Shortmead Street is closed from 9am; 28 grit bins were filled.",
    ],
)
def test_what_is_not_personal_data(settings, text):
    assert "personal_data" not in flags_of(settings, text)


@pytest.mark.parametrize(
    "text",
    ["The parking is shit.", "What a b@stard.", "It is f u c k i n g brilliant.", "SHIT service", "what a wazzock"],
)
def test_offensive_words_are_high(settings, text):
    flag = flags_of(settings, text)["offensive"]
    assert flag.severity == "high" and flag.section == "6.5"


@pytest.mark.parametrize(
    "text", ["Good luck at Scunthorpe!", "Cockburn tomatoes", "Penistone judge", "Sussex Road", "classic assessment"]
)
def test_no_scunthorpe_problem(settings, text):
    assert "offensive" not in flags_of(settings, text)


@pytest.mark.parametrize(
    "text",
    [
        "Please vote for Mark Jenkins on 6 May.",
        "Thanks to the Liberal Democrats.",
        "Join the campaign against the new homes.",
        "Our Labour candidate visited.",
        "Hustings at the church on Thursday.",
    ],
)
def test_party_politics_is_warn_and_high_in_a_pre_election_period(settings, text):
    assert flags_of(settings, text)["political"].severity == "warn"
    flag = flags_of(settings, text, day=date(2027, 4, 12))["political"]
    assert flag.severity == "high" and "pre-election" in flag.excerpt


@pytest.mark.parametrize(
    "text", ["Lower labour costs helped.", "The green spaces reopen.", "A vote of thanks to volunteers.", "Poll cards"]
)
def test_what_is_not_party_politics(settings, text):
    assert "political" not in flags_of(settings, text, day=date(2027, 4, 12))


@pytest.mark.parametrize(
    "text",
    [
        "Everyone knows Cllr Peter Holt is a fraud.",
        "Mayor Richard Lane lied to residents.",
        "Mr Kevin Doyle stole tools from the sheds.",
        "Ivel Valley Builders Ltd are cowboys.",
    ],
)
def test_a_named_accusation_is_high(settings, text):
    flag = flags_of(settings, text)["defamation"]
    assert flag.severity == "high" and flag.section == "Appendix A"


@pytest.mark.parametrize(
    "text",
    [
        "Report criminal damage to Bedfordshire Police.",
        "Trading Standards warn of doorstep scams; report it to Action Fraud.",
        "Thank you Cllr Jane Smith for planting bulbs.",
        "Someone stole the flowers from the planters.",  # nobody named
    ],
)
def test_what_is_not_an_accusation(settings, text):
    assert "defamation" not in flags_of(settings, text)


@pytest.mark.parametrize(
    ("text", "pictures", "severity"),
    [
        ("The river this morning.", 0, None),
        ("The river this morning.", 1, "warn"),
        ("Pupils at sports day.", 2, "high"),
        ("The children planted a tree; their teacher said we could share it.", 1, "high"),
        ("The school choir sang; parents gave written permission for these photos.", 1, "warn"),
        ("Pupils at sports day.", 0, None),
    ],
)
def test_pictures_ask_for_consent_and_a_parent_for_children(settings, text, pictures, severity):
    flag = flags_of(settings, text, pictures).get("pictures")
    assert (flag.severity if flag else None) == severity
    if severity == "high":
        assert "parent's or guardian's permission" in flag.excerpt


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Survey: bit.ly/3xYzAbC", "shortened"),
        ("See https://tinyurl.com/abc123", "shortened"),
        ("Details at http://bowls.example.org/open", "plain http"),
        ("Follow https://www.instagram.com/jess.paints.uk", "personal"),
        ("See https://www.facebook.com/profile.php?id=100012345678", "personal"),
        ("See https://uk.linkedin.com/in/someone", "personal"),
        ("Events: https://www.facebook.com/events/123", None),
        ("Our page https://x.com/BiggleswadeTC", None),
        ("https://www.biggleswadetowncouncil.gov.uk/events", None),
    ],
)
def test_links(settings, text, kind):
    own = replace(settings, screening=replace(settings.screening, accounts=(config.Account("x", "@BiggleswadeTC"),)))
    flag = flags_of(own, text).get("links")
    assert (kind in flag.excerpt if flag else None) == (True if kind else None)


def test_platform_fit_against_each_account(settings):
    accounts = (config.Account("x", "@BiggleswadeTC"), config.Account("instagram"), config.Account("facebook"))
    own = replace(settings, screening=replace(settings.screening, accounts=accounts))
    assert "platform_fit" not in flags_of(settings, "x" * 400)  # no accounts, no flag
    flag = flags_of(own, "word " * 80)["platform_fit"]
    assert flag.severity == "info"
    assert "x @BiggleswadeTC: 399 characters, over 280" in flag.excerpt and "instagram: needs a picture" in flag.excerpt
    assert "platform_fit" not in flags_of(own, "Short and sweet.", pictures=1)


# --- [screening] settings --------------------------------------------------------------------


def test_rules_switch_off_change_severity_and_take_words(tmp_path):
    settings = settings_for(
        tmp_path,
        "sqlite://",
        screening={"off": ["links"], "severity": {"personal_data": "high"}, "words": {"political": ["Ivel First"]}},
    )
    flags = flags_of(settings, "Ring 07700 900461 or see http://x.example.org. Ivel First will win.")
    assert "links" not in flags
    assert flags["personal_data"].severity == "high"
    assert flags["political"].severity == "warn"


def test_severity_changes_only_a_rules_ordinary_flags(tmp_path):
    settings = settings_for(
        tmp_path,
        "sqlite://",
        screening={"severity": {"political": "info"}, "pre_election": [{"start": "2027-03-25", "end": "2027-05-06"}]},
    )
    assert flags_of(settings, "Vote for the Greens.")["political"].severity == "info"
    assert flags_of(settings, "Vote for the Greens.", day=date(2027, 5, 6))["political"].severity == "high"


def test_flags_are_shown_high_first():
    stored = [{"severity": "info"}, {"severity": "warn"}, {"severity": "high"}, {"severity": "warn", "n": "2"}]
    assert [f["severity"] for f in by_severity(stored)] == ["high", "warn", "warn", "info"]


@pytest.mark.parametrize(
    ("screening", "words"),
    [
        ({"off": ["spelling"]}, "not a rule"),
        ({"severity": {"links": "urgent"}}, "use one of info, warn, high"),
        ({"words": {"offensive": "wazzock"}}, "must be a list of words"),
        ({"pre_election": [{"start": "2027-05-06", "end": "2027-03-25"}]}, "starts after it ends"),
        ({"pre_election": [{"start": "soon", "end": "2027-03-25"}]}, "needs dates"),
        ({"accounts": [{"platform": "myspace"}]}, "names the platform"),
        ({"colour": "red"}, "not a known key"),
    ],
)
def test_screening_config_mistakes_are_named(tmp_path, screening, words):
    with pytest.raises(ConfigError, match=r"\[screening\]") as caught:
        settings_for(tmp_path, "sqlite://", screening=screening)
    assert words in str(caught.value)


def test_the_example_config_reads_its_screening_section():
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    import tomllib

    data = tomllib.loads(example.read_text(encoding="utf-8"))
    assert "screening" in data
    settings = config.from_dict(data, example)
    assert settings.screening.accounts and settings.screening.pre_election
