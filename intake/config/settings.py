"""The frozen settings the service runs on, one dataclass per TOML section."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from intake.accounts import RegisteredAccount
from intake.config.addresses import name_key, untagged
from intake.config.secret import read_secret_file
from intake.errors import ConfigError
from intake.vocab import REVIEWER_ROLES, Role


@dataclass(frozen=True)
class Council:
    """[council]: who we are, shown in the mail we send."""

    name: str
    timezone: str = "Europe/London"
    phone: str = ""
    email: str = ""
    website: str = ""
    office: str = ""
    urgent_phone: str = ""  # for what is dangerous or urgent; "" : the phone above
    response_time: str = "usually within two working days"  # when a drafter can expect to hear
    privacy_url: str = ""  # the council's privacy notice, linked from every mail to the public

    @property
    def tz(self) -> ZoneInfo:
        """The council's time zone, for dates in mail and the digest."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Mailbox:
    """[mailbox]: the intake address drafts are sent to and our mail comes from."""

    address: str

    @property
    def domain(self) -> str:
        """The address's domain, lower-cased."""
        return self.address.rsplit("@", 1)[1].lower()

    @property
    def local_part(self) -> str:
        """The address before the @, to which reply keys are added."""
        return self.address.rsplit("@", 1)[0]


@dataclass(frozen=True)
class Imap:
    """[imap]: the mailbox to read."""

    host: str
    username: str
    password: str = field(default="", repr=False)
    port: int = 993
    security: str = "ssl"
    auth: str = "password"  # "password" | "oauth2" (XOAUTH2 with a token from [oauth2])
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    idle: bool = True
    poll_seconds: int = 60
    timeout: int = 30


@dataclass(frozen=True)
class Smtp:
    """[smtp]: the relay for outgoing mail."""

    host: str
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: int = 30
    auth: str = "password"  # "password" | "oauth2" (AUTH XOAUTH2 with a token from [oauth2])


@dataclass(frozen=True)
class OAuth2:
    """[oauth2]: where the service gets OAuth 2.0 tokens for IMAP and SMTP (client-credentials grant).

    The credential (client secret, certificate or service-account key) is never shown in repr;
    `credential_key` names the setting that holds it, so that a refusal can say what to check.
    """

    provider: str  # "microsoft" | "google" | "generic"
    client_id: str = ""
    tenant_id: str = ""
    client_secret: str = field(default="", repr=False)
    certificate_file: Path | None = None  # microsoft: PEM holding the private key and its certificate
    key_file: Path | None = None  # google: the service account's JSON key
    user: str = ""  # google: the mailbox the service account acts as (default: the [imap] username)
    token_url: str = ""
    scope: str = ""
    credential_key: str = "client_secret_env"
    config_file: Path = Path("config.toml")


@dataclass(frozen=True)
class Graph:
    """[graph]: send through Microsoft Graph instead of [smtp], as this mailbox, with tokens from [oauth2]."""

    user: str
    base_url: str = "https://graph.microsoft.com/v1.0"
    timeout: int = 30


@dataclass(frozen=True)
class Outbox:
    """[outbox]: where mail waits, and how long delivery keeps trying."""

    folder: Path
    max_attempts: int = 30
    retry_seconds: int = 60


@dataclass(frozen=True)
class Listener:
    """[listener]: take mail over SMTP or LMTP directly."""

    host: str = "127.0.0.1"
    port: int = 8025
    protocol: str = "smtp"


@dataclass(frozen=True)
class Security:
    """[security]: the secret that signs reply keys, and whose authentication results are trusted.

    `given_secret` is the secret from `secret`/`secret_env`; without one the secret lives in
    `secret_file`, which `smat-intake init` makes. It is read when first needed, so loading a
    config never writes a file and `init` can run before the file exists.
    """

    given_secret: bytes = b""
    secret_file: Path = Path("var/secret.key")
    config_file: Path = Path("config.toml")
    trusted_authserv_id: str = ""
    require_authenticated_replies: bool = False
    reply_key_days: int = 30

    @cached_property
    def secret(self) -> bytes:
        """The reply-key secret; a ConfigError saying to run `init` if there is none yet."""
        if self.given_secret:
            return self.given_secret
        value = read_secret_file(self.config_file, self.secret_file)
        if value is None:
            raise ConfigError(
                f"{self.config_file}: [security] no secret yet: run `smat-intake init` first "
                f"(it creates {self.secret_file}), or set secret_env."
            )
        return value


@dataclass(frozen=True)
class Review:
    """[review]: how many approvals a draft needs."""

    approvals_required: int = 1


@dataclass(frozen=True)
class Digest:
    """[digest]: when the Town Clerk's daily digest is sent, what counts as overdue, the policy's review date."""

    time: str = "08:00"  # local time, every day
    overdue_hours: int = 48  # a draft waiting longer than this is listed as overdue
    report_deadline_working_days: int = 5  # a report not actioned within this many working days is escalated
    policy_review: str = ""  # the policy's yearly review date, YYYY-MM-DD; a reminder from 30 days before
    to_deputy: bool = False  # also send it to the Deputy Town Clerk (design.md: the Clerk reads it)


@dataclass(frozen=True)
class CommitteeReport:
    """[committee_report]: the monthly report's committee, and whether the Deputy Town Clerk gets it too."""

    committee: str = "Finance and General Purposes Committee"  # named in the report (Appendix A)
    to_deputy: bool = False  # the Town Clerk gets it; true: the Deputy Town Clerk too


@dataclass(frozen=True)
class Retention:
    """[retention]: how long personal data of items never published is kept (UK GDPR storage limitation)."""

    unpublished_months: int = 12  # then raw mail, files, text and addresses go; ref, kind, dates, outcome stay


@dataclass(frozen=True)
class Pictures:
    """[pictures]: how pictures are prepared for reviewers and posting, and how far they are trusted."""

    max_side: int = 2048  # the long side of the prepared copy, in pixels
    max_bytes: int = 50 * 1024 * 1024  # larger picture files are not decoded at all
    max_pixels: int = 40_000_000  # per frame, read from the header before decoding
    max_frames: int = 300  # an animation's frames


@dataclass(frozen=True)
class Limits:
    """[limits]: what one mail we send may carry, and the largest message and file we read."""

    attach_per_mail_bytes: int = 10 * 1024 * 1024  # beyond it, files are listed as kept, not attached
    message_bytes: int = 25 * 1024 * 1024  # a larger message is kept whole, its files neither read nor sent on
    attachment_bytes: int = 20 * 1024 * 1024  # a larger file is kept, neither read nor sent on


@dataclass(frozen=True)
class Intake:
    """[intake]: how much automatic mail one sender not on the roster can draw from us."""

    acknowledgements_per_hour: int = 3  # then one note a day saying the rest are not acknowledged
    automatic_replies_per_day: int = 3  # and never more than this a day (the note included): no loop lasts


@dataclass(frozen=True)
class Period:
    """One pre-election period, both days included: party-political drafts are high then."""

    start: date
    end: date


@dataclass(frozen=True)
class Account:
    """One of the council's social media accounts, for the platform-fit rule."""

    platform: str  # a key of config.screening.PLATFORMS: "x", "instagram", "facebook", …
    handle: str = ""


@dataclass(frozen=True)
class Screening:
    """[screening]: rules switched off, severities changed, extra words per rule, election periods, accounts."""

    off: tuple[str, ...] = ()
    severity: tuple[tuple[str, str], ...] = ()  # (rule, "info" | "warn" | "high")
    words: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (rule, the council's own words for it)
    pre_election: tuple[Period, ...] = ()
    accounts: tuple[Account, ...] = ()

    def is_on(self, rule: str) -> bool:
        """Whether a rule runs."""
        return rule not in self.off

    def severity_of(self, rule: str, default: str) -> str:
        """The severity a rule's ordinary flags carry: the configured one, else the rule's default."""
        return dict(self.severity).get(rule, default)

    def words_for(self, rule: str) -> tuple[str, ...]:
        """The council's own words for a rule (offensive terms, parties, accusations, …)."""
        return dict(self.words).get(rule, ())

    def in_pre_election(self, day: date | None) -> bool:
        """Whether a day falls in a configured pre-election period."""
        return day is not None and any(p.start <= day <= p.end for p in self.pre_election)


@dataclass(frozen=True)
class Person:
    """One [[people]] entry of the roster."""

    name: str
    email: str
    role: str  # one of vocab.ROSTER_ROLES, kept as its plain string (as stored and printed)
    active: bool = True
    other_addresses: tuple[str, ...] = ()  # the same person's other mailboxes (a second account, say)
    since: datetime | None = None  # when the roster last took them on: keys issued before then are void

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every address of this person, the roster address first."""
        return (self.email, *self.other_addresses)

    @property
    def is_reviewer(self) -> bool:
        """An active clerk, deputy clerk or SMAT member, who receives review requests."""
        return self.active and self.role in REVIEWER_ROLES


@dataclass(frozen=True)
class Settings:
    """Everything the service needs, read from one TOML file."""

    path: Path
    council: Council
    mailbox: Mailbox
    database_url: str
    outbox: Outbox
    security: Security
    digest: Digest
    people: tuple[Person, ...]
    accounts: tuple[RegisteredAccount, ...] = ()  # [[accounts]]: the register's seed
    review: Review = field(default_factory=Review)
    pictures: Pictures = field(default_factory=Pictures)
    limits: Limits = field(default_factory=Limits)
    intake: Intake = field(default_factory=Intake)
    screening: Screening = field(default_factory=Screening)
    committee_report: CommitteeReport = field(default_factory=CommitteeReport)
    retention: Retention = field(default_factory=Retention)
    imap: Imap | None = None
    smtp: Smtp | None = None
    graph: Graph | None = None
    oauth2: OAuth2 | None = None
    listener: Listener | None = None
    base_dir: Path = field(default=Path("."))

    def person(self, email: str) -> Person | None:
        """The roster entry owning an address: any of a person's addresses, case and sub-address tag aside.

        Our own address never loses its tag: smat.info+KEY@… is a reply key, nobody's mailbox.
        """
        wanted = email.strip().lower()
        for person in self.people:
            if any(address.lower() == wanted for address in person.addresses):
                return person
        if self.is_ours(wanted):
            return None
        key = untagged(wanted)
        for person in self.people:
            if any(untagged(address) == key for address in person.addresses):
                return person
        return None

    def is_ours(self, email: str) -> bool:
        """Whether an address is the intake mailbox, with or without a reply-key tag."""
        return untagged(email) == untagged(self.mailbox.address)

    def same_person(self, a: str, b: str) -> bool:
        """Whether two addresses belong to one person: one roster entry, else one mailbox once tags are dropped.

        For "may this person approve their own draft?": member+drafts@x, a second address on the
        roster and member@x are all the same member. Our own reply-key addresses are never anyone.
        """
        if not a.strip() or not b.strip():
            return False
        first, second = self.person(a), self.person(b)
        if first is not None or second is not None:
            return first == second
        if self.is_ours(a) or self.is_ours(b):
            return a.strip().lower() == b.strip().lower()
        return untagged(a) == untagged(b)

    def canonical(self, email: str) -> str:
        """One name per person, for counting approvals: the roster address, else the untagged address."""
        person = self.person(email)
        if person is not None:
            return person.email.lower()
        return email.strip().lower() if self.is_ours(email) else untagged(email)

    def impersonated(self, display_name: str, email: str) -> Person | None:
        """The roster member a sender's display name claims to be, when the address is not theirs.

        "Town Clerk <clerk@evil.example>" names the Town Clerk from a stranger's address: worth a
        flag on the draft. Names compare case-insensitively with spacing and quotes aside.
        """
        wanted = name_key(display_name)
        if not wanted:
            return None
        for person in self.people:
            if name_key(person.name) == wanted:
                return None if self.same_person(person.email, email) else person
        return None

    def role_of(self, email: str) -> str:
        """The sender's role: a roster role for an active member, else "public"."""
        person = self.person(email)
        return person.role if person and person.active else Role.PUBLIC.value

    @property
    def reviewers(self) -> tuple[Person, ...]:
        """Active SMAT members (clerk, deputy clerk, smat), who receive review requests."""
        return tuple(p for p in self.people if p.is_reviewer)
