"""One person, many addresses: sub-address tags and a roster's other addresses (issue 7 item 7)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from intake.config import ConfigError, Settings, load, untagged

REPO = Path(__file__).resolve().parent.parent
HEAD = """
[council]
name = "Test Town Council"

[mailbox]
address = "smat.info@town.example"

[security]
secret = "0123456789abcdef0123456789abcdef"
"""
ROSTER = """
[[people]]
name = "Town Clerk"
email = "clerk@town.example"
role = "clerk"
other_addresses = ["jo.clerk@home.example", "JSmith+council@mail.example"]

[[people]]
name = "Comms Officer"
email = "comms@town.example"
role = "smat"

[[people]]
name = "Shared Inbox"
email = "smat.info@town.example"
role = "staff"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(HEAD + text, encoding="utf-8")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load(write(tmp_path, ROSTER))


def config_error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    return message


@pytest.mark.parametrize(
    "address",
    [
        "clerk@town.example",
        "CLERK@Town.Example",
        "clerk+drafts@town.example",
        "Clerk+Other+Tag@TOWN.example",
        "jo.clerk@home.example",
        "jo.clerk+smat@home.example",
        "jsmith@mail.example",  # the roster wrote it with a tag: the mailbox is the same
        "jsmith+anything@mail.example",
    ],
)
def test_every_address_of_a_person_finds_them(settings: Settings, address: str) -> None:
    person = settings.person(address)
    assert person is not None and person.email == "clerk@town.example"
    assert settings.role_of(address) == "clerk"
    assert settings.same_person(address, "clerk@town.example")
    assert settings.canonical(address) == "clerk@town.example"


@pytest.mark.parametrize("address", ["clerkx@town.example", "clerk@town.example.evil", "jo.clerk@town.example", "x"])
def test_look_alikes_find_nobody(settings: Settings, address: str) -> None:
    assert settings.person(address) is None
    assert settings.role_of(address) == "public"
    assert not settings.same_person(address, "clerk@town.example")


def test_a_reply_key_address_is_never_a_person(settings: Settings) -> None:
    """Our own address keeps its tag: smat.info+KEY@… is a key, not the roster's shared inbox."""
    assert settings.person("smat.info+k3y@town.example") is None
    assert settings.person("SMAT.info@town.example") is not None  # the address itself, as listed
    assert not settings.same_person("smat.info+k3y@town.example", "smat.info@town.example")
    assert not settings.same_person("smat.info+k3y@town.example", "smat.info+other@town.example")
    assert settings.same_person("smat.info+k3y@town.example", "SMAT.INFO+k3y@town.example")
    assert settings.canonical("smat.info+K3Y@town.example") == "smat.info+k3y@town.example"
    assert settings.is_ours("smat.info+k3y@town.example") and not settings.is_ours("clerk@town.example")


def test_same_person(settings: Settings) -> None:
    assert settings.same_person("jo.clerk@home.example", "clerk+x@town.example")
    assert not settings.same_person("clerk@town.example", "comms@town.example")
    assert not settings.same_person("comms@town.example", "stranger@example.org")
    assert settings.same_person("stranger+a@example.org", "Stranger@Example.org")  # not on the roster: one mailbox
    assert not settings.same_person("stranger@example.org", "other@example.org")
    assert not settings.same_person("", "") and not settings.same_person("clerk@town.example", " ")


def test_untagged() -> None:
    assert untagged(" Member+Drafts@Town.Example ") == "member@town.example"
    assert untagged("a+b+c@x.example") == "a@x.example"
    assert untagged("plain@x.example") == "plain@x.example"


@pytest.mark.parametrize(
    "extra, key, problem",
    [
        ('other_addresses = "jo@home.example"', "other_addresses", "must be a list of strings in quotes"),
        ("other_addresses = [1]", "other_addresses", "must be a list of strings in quotes"),
        ('other_addresses = ["not an address"]', "other_addresses", "must be an email address"),
        ('other_addresses = ["clerk+home@town.example"]', "other_addresses", "appears twice in the roster"),
        ('other_addresses = ["Comms@Town.example"]', "other_addresses", "appears twice in the roster"),
    ],
)
def test_other_addresses_mistakes_are_named(tmp_path: Path, extra: str, key: str, problem: str) -> None:
    text = ROSTER.replace(
        'email = "comms@town.example"\nrole = "smat"', f'email = "comms@town.example"\nrole = "smat"\n{extra}'
    )
    message = config_error(write(tmp_path, text))
    assert f"[[people]] #2 {key}" in message and problem in message, message


def test_one_mailbox_under_two_names_is_one_address_twice(tmp_path: Path) -> None:
    text = ROSTER.replace('email = "comms@town.example"', 'email = "clerk+comms@town.example"')
    message = config_error(write(tmp_path, text))
    assert '[[people]] #2 email "clerk+comms@town.example" appears twice in the roster' in message


def test_the_example_lists_other_addresses(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    shutil.copy(REPO / "config.example.toml", path)
    settings = load(path)
    person = settings.person("a.example@example.net")
    assert person is not None and person.email == "cllr.example@biggleswadetowncouncil.gov.uk"
    assert person.other_addresses == ("a.example@example.net",)


@pytest.mark.parametrize(
    "name, email, claimed",
    [
        ("Town Clerk", "clerk@evil.example", "clerk@town.example"),
        ('"town  CLERK"', "someone@example.org", "clerk@town.example"),
        ("Town Clerk", "clerk+drafts@town.example", None),  # the Clerk, from a tagged address
        ("Town Clerk", "jo.clerk@home.example", None),  # the Clerk, from another of her addresses
        ("Comms Officer", "clerk@town.example", "comms@town.example"),  # one member posing as another
        ("Jane Public", "jane@example.org", None),
        ("", "jane@example.org", None),
    ],
)
def test_a_display_name_claiming_a_member_from_another_address_is_found(
    settings: Settings, name: str, email: str, claimed: str | None
) -> None:
    person = settings.impersonated(name, email)
    assert (person.email if person else None) == claimed
