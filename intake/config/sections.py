"""The table of config sections: each section, its keys with type, default and check, declared once.

`reader.py` walks this table; to add a key, add a `Key` here and a field to its dataclass in
`settings.py`. Keys are read in the order given, so a default may follow a key before it
(a port follows the security mode).
"""

from __future__ import annotations

from pathlib import Path

from intake.accounts import RegisteredAccount
from intake.config import screening
from intake.config.addresses import untagged
from intake.config.checks import (
    address,
    addresses,
    at_least,
    clock,
    database_url,
    graph_url,
    iso_date,
    long_secret,
    one_of,
    optional_address,
    optional_web_address,
    port,
    timezone,
    token_url,
)
from intake.config.oauth import PROVIDERS, build_oauth2, credentials
from intake.config.secret import read_secret_file
from intake.config.settings import (
    CommitteeReport,
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
    Retention,
    Review,
    Security,
    Smtp,
)
from intake.config.table import Absent, Context, Key, Rule, SecretKey, Section, Values
from intake.vocab import ROSTER_ROLES

SECURITY_MODES = ("ssl", "starttls", "none")

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
AUTH_MODES = ("password", "oauth2")
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
            Key("urgent_phone", str, ""),
            Key("response_time", str, "usually within two working days"),
            Key("privacy_url", str, "", optional_web_address),
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
            Key("auth", str, "password", one_of(*AUTH_MODES)),
            SecretKey("password", required=lambda v: v["auth"] == "password"),
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
            Key("auth", str, "password", one_of(*AUTH_MODES)),
            SecretKey("password", required=False),
            Key("timeout", int, 30, at_least(1)),
        ),
        lambda v, c: Smtp(**v),
        absent=Absent.NONE,
        rules=(
            Rule(
                "username",
                'is required when auth = "oauth2" (the mailbox that sends)',
                lambda v: bool(v["auth"] == "oauth2" and not v["username"]),
            ),
        ),
    ),
    Section(
        "oauth2",
        "oauth2",
        (
            Key("provider", str, check=one_of(*PROVIDERS)),
            Key("tenant_id", str, ""),
            Key("client_id", str, ""),
            SecretKey("client_secret", required=False),
            Key("client_secret_file", str, ""),
            Key("certificate_file", str, ""),
            Key("key_file", str, ""),
            Key("user", str, "", optional_address),
            Key("token_url", str, "", token_url),
            Key("scope", str, ""),
        ),
        build_oauth2,
        absent=Absent.NONE,
        rules=(
            Rule(
                "client_id",
                "is required: the application (client) ID of the app registration",
                lambda v: bool(v["provider"] != "google" and not v["client_id"]),
            ),
            Rule(
                "tenant_id",
                "is required for Microsoft 365: the directory (tenant) ID from Entra ID",
                lambda v: bool(v["provider"] == "microsoft" and not v["tenant_id"] and not v["token_url"]),
            ),
            Rule(
                "token_url",
                'is required when provider = "generic"',
                lambda v: bool(v["provider"] == "generic" and not v["token_url"]),
            ),
            Rule(
                "key_file",
                "is required for Google: the service account's JSON key file",
                lambda v: bool(v["provider"] == "google" and not v["key_file"]),
            ),
            Rule(
                "client_secret_env",
                "is required: give the app's secret as client_secret_env (or client_secret_file, or certificate_file)",
                lambda v: bool(v["provider"] != "google" and credentials(v) == 0),
            ),
            Rule(
                "client_secret_file",
                "conflicts with another credential: give one of client_secret_env, client_secret_file, "
                "certificate_file (microsoft) or key_file (google)",
                lambda v: credentials(v) > 1,
            ),
            Rule(
                "certificate_file",
                'is for provider = "microsoft" only',
                lambda v: bool(v["certificate_file"] and v["provider"] != "microsoft"),
            ),
        ),
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
        (
            Key("attach_per_mail_bytes", int, 10 * 1024 * 1024, at_least(0)),
            Key("message_bytes", int, 25 * 1024 * 1024, at_least(1024)),
            Key("attachment_bytes", int, 20 * 1024 * 1024, at_least(1024)),
        ),
        lambda v, c: Limits(**v),
    ),
    Section(
        "intake",
        "intake",
        (
            Key("acknowledgements_per_hour", int, 3, at_least(1)),
            Key("automatic_replies_per_day", int, 3, at_least(1)),
        ),
        lambda v, c: Intake(**v),
    ),
    Section(
        "digest",
        "digest",
        (
            Key("time", str, "08:00", clock),
            Key("overdue_hours", int, 48, at_least(1)),
            Key("report_deadline_working_days", int, 5, at_least(1)),
            Key("policy_review", str, "", iso_date),
            Key("to_deputy", bool, False),
        ),
        lambda v, c: Digest(**v),
    ),
    Section(
        "committee_report",
        "committee_report",
        (
            Key(
                "committee",
                str,
                "Finance and General Purposes Committee",
                lambda value: None if value.strip() else "must name the committee the report goes to, not be empty",
            ),
            Key("to_deputy", bool, False),
        ),
        lambda v, c: CommitteeReport(**v),
    ),
    Section(
        "retention",
        "retention",
        (Key("unpublished_months", int, 12, at_least(1)),),
        lambda v, c: Retention(**v),
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
    Section(
        "accounts",
        "accounts",
        (
            Key("platform", str, check=one_of(*screening.PLATFORMS)),
            Key("handle", str),
            Key("url", str, ""),
            Key("administered_by", str, ""),
        ),
        lambda v, c: RegisteredAccount(**v),
        absent=Absent.NONE,
        many=True,
        unique=(("handle",), "appears twice in [[accounts]]"),
    ),
)

SECTIONS = tuple(section.name for section in TABLE)
