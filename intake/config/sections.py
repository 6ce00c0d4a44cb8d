"""The table of config sections: each section, its keys with type, default and check, declared once.

`reader.py` walks this table; to add a key, add a `Key` here and a field to its dataclass in
`settings.py`. Keys are read in the order given, so a default may follow a key before it
(a port follows the security mode).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from intake.config import screening
from intake.config.checks import (
    Check,
    address,
    addresses,
    at_least,
    clock,
    database_url,
    iso_date,
    long_secret,
    one_of,
    optional_address,
    port,
    timezone,
)
from intake.config.secret import read_secret_file
from intake.config.settings import (
    Council,
    Digest,
    Graph,
    Imap,
    Intake,
    Limits,
    Listener,
    Mailbox,
    Outbox,
    Person,
    Pictures,
    Review,
    Security,
    Smtp,
    untagged,
)
from intake.vocab import ROSTER_ROLES

SECURITY_MODES = ("ssl", "starttls", "none")

Values = Mapping[str, Any]


class Absent(Enum):
    """What a section left out of the file means."""

    REQUIRED = "required"  # an error
    NONE = "none"  # the feature is off: the setting is None (or no entries)
    DEFAULTS = "defaults"  # read as an empty table: every key takes its default


class _Required:
    """The default of a key that must be given."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Context:
    """What building a section may need besides its values: the file (for errors) and its folder."""

    file: Path
    base: Path


@dataclass(frozen=True)
class Key:
    """One key: name, type (str, int, bool, list of str; `object`: only its check), default, check, or default_from."""

    name: str
    kind: type
    default: Any = REQUIRED
    check: Check | None = None
    default_from: Callable[[Values], Any] | None = None


@dataclass(frozen=True)
class SecretKey:
    """A secret given inline as NAME or, better, as NAME_env naming an environment variable ("" if neither)."""

    name: str
    required: bool
    check: Check | None = None


@dataclass(frozen=True)
class Rule:
    """A check across a section's keys: when `broken(values)`, *key* is named with *problem*."""

    key: str
    problem: str
    broken: Callable[[Values], bool]


@dataclass(frozen=True)
class Section:
    """One TOML section: its keys, what its absence means, and how its values become settings.

    `field` is the Settings attribute it fills. A `many` section is an array of tables
    ([[people]]), each entry read with the same keys; `unique` names the keys (a string, or a
    list of strings) whose values no two may share across all entries, compared as `same` makes
    them, with the problem said of the second.
    """

    name: str
    field: str
    keys: tuple[Key | SecretKey, ...]
    build: Callable[[Values, Context], Any]
    absent: Absent = Absent.DEFAULTS
    rules: tuple[Rule, ...] = ()
    many: bool = False
    unique: tuple[tuple[str, ...], str] | None = None
    same: Callable[[str], str] = str.lower


# --- builders: the values of one section as its settings -----------------------------------


def anchor_sqlite(url: str, base: Path) -> str:
    """Make a relative SQLite path relative to the config file's folder."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite:///:memory:" or url.startswith("sqlite:////"):
        return url
    return prefix + str(base / url[len(prefix) :])


def _security(values: Values, context: Context) -> Security:
    secret_file = context.base / values["secret_file"]
    given = values["secret"].encode()
    if not given:
        read_secret_file(context.file, secret_file)  # a file already there is checked now; a missing one is init's
    return Security(
        given_secret=given,
        secret_file=secret_file,
        config_file=context.file,
        trusted_authserv_id=values["trusted_authserv_id"],
        require_authenticated_replies=values["require_authenticated_replies"],
        reply_key_days=values["reply_key_days"],
    )


SMTP_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def graph_url(value: str) -> str | None:
    """An https:// address for Graph; http:// only to a server on this machine (a test stand-in).

    The access token travels with every request: never in clear over a network.
    """
    parts = urlsplit(value)
    if parts.hostname and (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)):
        return None
    return f'must be an https:// address such as "https://graph.microsoft.com/v1.0", not "{value}"'


TABLE: tuple[Section, ...] = (
    Section(
        "council",
        "council",
        (
            Key("name", str),
            Key("timezone", str, "Europe/London", timezone),
            Key("phone", str, ""),
            Key("email", str, "", optional_address),
            Key("website", str, ""),
            Key("office", str, ""),
        ),
        lambda v, c: Council(**v),
        absent=Absent.REQUIRED,
    ),
    Section(
        "mailbox",
        "mailbox",
        (Key("address", str, check=address),),
        lambda v, c: Mailbox(**v),
        absent=Absent.REQUIRED,
    ),
    Section(
        "database",
        "database_url",
        (Key("url", str, "sqlite:///var/smat-intake.db", database_url),),
        lambda v, c: anchor_sqlite(v["url"], c.base),
    ),
    Section(
        "imap",
        "imap",
        (
            Key("security", str, "ssl", one_of(*SECURITY_MODES)),
            Key("host", str),
            Key("port", int, check=port, default_from=lambda v: 993 if v["security"] == "ssl" else 143),
            Key("username", str),
            SecretKey("password", required=True),
            Key("folder", str, "INBOX"),
            Key("processed_folder", str, "Processed"),
            Key("idle", bool, True),
            Key("poll_seconds", int, 60, at_least(5)),
            Key("timeout", int, 30, at_least(1)),
        ),
        lambda v, c: Imap(**v),
        absent=Absent.NONE,
        rules=(
            Rule(
                "processed_folder",
                "must differ from folder, or nothing would ever leave the inbox",
                lambda v: bool(v["folder"] == v["processed_folder"]),
            ),
        ),
    ),
    Section(
        "smtp",
        "smtp",
        (
            Key("security", str, "starttls", one_of(*SECURITY_MODES)),
            Key("host", str),
            Key("port", int, check=port, default_from=lambda v: SMTP_PORTS[v["security"]]),
            Key("username", str, ""),
            SecretKey("password", required=False),
            Key("timeout", int, 30, at_least(1)),
        ),
        lambda v, c: Smtp(**v),
        absent=Absent.NONE,
    ),
    Section(
        "graph",
        "graph",
        (
            Key("user", str, check=address),
            Key("base_url", str, "https://graph.microsoft.com/v1.0", graph_url),
            Key("timeout", int, 30, at_least(1)),
        ),
        lambda v, c: Graph(**v),
        absent=Absent.NONE,
    ),
    Section(
        "outbox",
        "outbox",
        (
            Key("folder", str, "var/outbox"),
            Key("max_attempts", int, 30, at_least(1)),
            Key("retry_seconds", int, 60, at_least(1)),
        ),
        lambda v, c: Outbox(**{**v, "folder": c.base / v["folder"]}),
    ),
    Section(
        "listener",
        "listener",
        (
            Key("host", str, "127.0.0.1"),
            Key("port", int, 8025, port),
            Key("protocol", str, "smtp", one_of("smtp", "lmtp")),
        ),
        lambda v, c: Listener(**v),
        absent=Absent.NONE,
    ),
    Section(
        "security",
        "security",
        (
            SecretKey("secret", required=False, check=long_secret),
            Key("secret_file", str, "var/secret.key"),
            Key("trusted_authserv_id", str, ""),
            Key("require_authenticated_replies", bool, False),
            Key("reply_key_days", int, 30, at_least(1)),
        ),
        _security,
        rules=(
            Rule(
                "trusted_authserv_id",
                "must name your mail server when require_authenticated_replies is true",
                lambda v: bool(v["require_authenticated_replies"] and not v["trusted_authserv_id"]),
            ),
        ),
    ),
    Section(
        "review",
        "review",
        (Key("approvals_required", int, 1, at_least(1)),),
        lambda v, c: Review(**v),
    ),
    Section(
        "pictures",
        "pictures",
        (
            Key("max_side", int, 2048, at_least(64)),
            Key("max_bytes", int, 50 * 1024 * 1024, at_least(1024)),
            Key("max_pixels", int, 40_000_000, at_least(4096)),
            Key("max_frames", int, 300, at_least(1)),
        ),
        lambda v, c: Pictures(**v),
    ),
    Section(
        "limits",
        "limits",
        (Key("attach_per_mail_bytes", int, 10 * 1024 * 1024, at_least(0)),),
        lambda v, c: Limits(**v),
    ),
    Section(
        "intake",
        "intake",
        (Key("acknowledgements_per_hour", int, 3, at_least(1)),),
        lambda v, c: Intake(**v),
    ),
    Section(
        "digest",
        "digest",
        (
            Key("time", str, "08:00", clock),
            Key("overdue_hours", int, 48, at_least(1)),
            Key("policy_review", str, "", iso_date),
            Key("to_deputy", bool, False),
        ),
        lambda v, c: Digest(**v),
    ),
    Section(
        "screening",
        "screening",
        (
            # Tables and lists of tables: `object` keys are checked by their check alone.
            Key("off", object, (), screening.rules_list),
            Key("severity", object, {}, screening.severity_table),
            Key("words", object, {}, screening.words_table),
            Key("pre_election", object, (), screening.periods),
            Key("accounts", object, (), screening.accounts),
        ),
        lambda v, c: screening.build(v),
    ),
    Section(
        "people",
        "people",
        (
            Key("name", str),
            Key("email", str, check=address),
            Key("role", str, check=one_of(*ROSTER_ROLES)),
            Key("active", bool, True),
            Key("other_addresses", list, (), addresses),
        ),
        lambda v, c: Person(**{**v, "other_addresses": tuple(v["other_addresses"])}),
        absent=Absent.NONE,
        many=True,
        # member+drafts@x is member@x: one address, one person, however it is written.
        unique=(("email", "other_addresses"), "appears twice in the roster"),
        same=untagged,
    ),
)

SECTIONS = tuple(section.name for section in TABLE)
