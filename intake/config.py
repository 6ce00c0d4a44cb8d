"""TOML -> frozen, validated settings; every mistake names the file and the key.

The whole file is checked once at start, so that a typo in `[imap] hostname` is
reported before anything runs rather than discovered at three in the morning.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from intake.errors import ConfigError

ROLES = ("clerk", "deputy_clerk", "smat", "councillor", "staff")
REVIEWER_ROLES = frozenset({"clerk", "deputy_clerk", "smat"})
SECURITY_MODES = ("ssl", "starttls", "none")

_ADDRESS = re.compile(
    r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


def is_address(value: str) -> bool:
    """True for a plain addr-spec such as clerk@example.org (no display name)."""
    return bool(_ADDRESS.match(value))


@dataclass(frozen=True)
class Council:
    name: str
    timezone: str = "Europe/London"
    phone: str = ""
    email: str = ""
    website: str = ""
    office: str = ""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Mailbox:
    address: str

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1].lower()

    @property
    def local_part(self) -> str:
        return self.address.rsplit("@", 1)[0]


@dataclass(frozen=True)
class Imap:
    host: str
    username: str
    password: str
    port: int = 993
    security: str = "ssl"
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    idle: bool = True
    poll_seconds: int = 60
    timeout: int = 30


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password: str = ""
    timeout: int = 30


@dataclass(frozen=True)
class Outbox:
    folder: Path
    max_attempts: int = 30
    retry_seconds: int = 60


@dataclass(frozen=True)
class Listener:
    host: str = "127.0.0.1"
    port: int = 8025
    protocol: str = "smtp"


@dataclass(frozen=True)
class Security:
    secret: bytes
    trusted_authserv_id: str = ""
    require_authenticated_replies: bool = False
    reply_key_days: int = 30


@dataclass(frozen=True)
class Review:
    approvals_required: int = 1


@dataclass(frozen=True)
class Digest:
    time: str = "08:00"


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    role: str
    active: bool = True

    @property
    def is_reviewer(self) -> bool:
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
    review: Review = field(default_factory=Review)
    imap: Imap | None = None
    smtp: Smtp | None = None
    listener: Listener | None = None
    base_dir: Path = field(default=Path("."))

    def person(self, email: str) -> Person | None:
        """The roster entry for an address, compared case-insensitively."""
        wanted = email.strip().lower()
        for person in self.people:
            if person.email.lower() == wanted:
                return person
        return None

    def role_of(self, email: str) -> str:
        """The sender's role: a roster role for an active member, else "public"."""
        person = self.person(email)
        return person.role if person and person.active else "public"

    @property
    def reviewers(self) -> tuple[Person, ...]:
        """Active SMAT members (clerk, deputy clerk, smat), who receive review requests."""
        return tuple(p for p in self.people if p.is_reviewer)


# --- validation --------------------------------------------------------------------------


class _Section:
    """Reads one TOML table, recording which keys were used so unknown ones can be named."""

    def __init__(self, file: Path, name: str, data: Any, label: str | None = None):
        self.file = file
        self.name = name
        self.label = label or f"[{name}]"
        if not isinstance(data, dict):
            self.fail(None, f"must be a table, not {_kind(data)}")
        self.data: dict[str, Any] = data
        self.known: set[str] = set()

    def where(self, key: str | None) -> str:
        return self.label + (f" {key}" if key else "")

    def fail(self, key: str | None, problem: str) -> None:
        raise ConfigError(f"{self.file}: {self.where(key)} {problem}.")

    def get(self, key: str, kind: type, default: Any = ..., check: Callable[[Any], str | None] | None = None) -> Any:
        self.known.add(key)
        if key not in self.data:
            if default is ...:
                # A misspelt required key (`hostname` for `host`) is named as the typo it is.
                typo = difflib.get_close_matches(key, [k for k in self.data if k not in self.known], n=1)
                if typo:
                    self.fail(typo[0], f"is not a known key (did you mean {key}?)")
                self.fail(key, "is required but missing")
            return default
        value = self.data[key]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            self.fail(key, f"must be a whole number, not {_show(value)}")
        if kind is bool and not isinstance(value, bool):
            self.fail(key, f"must be true or false, not {_show(value)}")
        if kind is str and not isinstance(value, str):
            self.fail(key, f"must be a string in quotes, not {_show(value)}")
        if check is not None:
            problem = check(value)
            if problem:
                self.fail(key, problem)
        return value

    def secret(self, key: str, required: bool) -> str:
        """A secret given inline as KEY or, better, as KEY_env naming an environment variable."""
        inline = self.get(key, str, None)
        env_name = self.get(f"{key}_env", str, None)
        if inline is not None and env_name is not None:
            self.fail(key, f"and {key}_env are both set; give only one")
        if env_name is not None:
            value = os.environ.get(env_name)
            if not value:
                self.fail(f"{key}_env", f"names the environment variable {env_name}, which is not set")
            return value
        if inline is not None:
            return inline
        if required:
            self.fail(
                key, f"is required: set {key}_env to the name of an environment variable holding it (or {key} inline)"
            )
        return ""

    def finish(self) -> None:
        for key in self.data:
            if key not in self.known:
                hint = difflib.get_close_matches(key, sorted(self.known), n=1)
                suggestion = f" (did you mean {hint[0]}?)" if hint else ""
                self.fail(key, f"is not a known key{suggestion}")


def _kind(value: Any) -> str:
    return {
        dict: "a table",
        list: "a list",
        str: "a string",
        bool: "true/false",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    return (
        f'"{value}"' if isinstance(value, str) else repr(value) if not isinstance(value, (dict, list)) else _kind(value)
    )


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}, not {_show(value)}"

    return check


def _port(value: int) -> str | None:
    return None if 0 < value < 65536 else f"must be a port number between 1 and 65535, not {value}"


def _at_least(low: int) -> Callable[[int], str | None]:
    return lambda value: None if value >= low else f"must be at least {low}, not {value}"


def _address(value: str) -> str | None:
    return None if is_address(value) else f'must be an email address such as name@example.org, not "{value}"'


def _optional_address(value: str) -> str | None:
    return None if value == "" else _address(value)


def _timezone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f'must be a time zone such as "Europe/London", not "{value}"'
    return None


def _clock(value: str) -> str | None:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return None
    return f'must be a time of day such as "08:00", not "{value}"'


def _database_url(value: str) -> str | None:
    if value.startswith(("sqlite:", "postgresql")):
        return None
    return f'must be a sqlite:/// or postgresql+psycopg:// URL, not "{value}"'


SECTIONS = (
    "council",
    "mailbox",
    "database",
    "imap",
    "smtp",
    "outbox",
    "listener",
    "security",
    "review",
    "digest",
    "people",
)


def load(path: Path | str) -> Settings:
    """Read and validate a config file; raise ConfigError naming the file and key at fault."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no such config file; copy config.example.toml to {file.name} and edit it, or pass --config PATH."
        ) from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read ({exc.strerror}).") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: is not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: is not valid TOML: {exc}.") from None
    return from_dict(data, file)


def from_dict(data: dict[str, Any], file: Path) -> Settings:
    """Validate already-parsed TOML; relative paths are taken from the file's folder."""
    for name in data:
        if name not in SECTIONS:
            hint = difflib.get_close_matches(name, SECTIONS, n=1)
            suggestion = f" (did you mean [{hint[0]}]?)" if hint else ""
            raise ConfigError(f"{file}: [{name}] is not a known section{suggestion}.")
    base = file.resolve().parent

    def section(name: str, required: bool = False) -> _Section | None:
        if name not in data:
            if required:
                raise ConfigError(f"{file}: [{name}] is required but missing.")
            return None
        return _Section(file, name, data[name])

    s = section("council", required=True)
    assert s
    council = Council(
        name=s.get("name", str),
        timezone=s.get("timezone", str, "Europe/London", _timezone),
        phone=s.get("phone", str, ""),
        email=s.get("email", str, "", _optional_address),
        website=s.get("website", str, ""),
        office=s.get("office", str, ""),
    )
    s.finish()

    s = section("mailbox", required=True)
    assert s
    mailbox = Mailbox(address=s.get("address", str, check=_address))
    s.finish()

    s = section("database")
    database_url = "sqlite:///var/smat-intake.db"
    if s:
        database_url = s.get("url", str, database_url, _database_url)
        s.finish()
    database_url = _anchor_sqlite(database_url, base)

    imap = None
    s = section("imap")
    if s:
        security = s.get("security", str, "ssl", _one_of(*SECURITY_MODES))
        imap = Imap(
            host=s.get("host", str),
            port=s.get("port", int, 993 if security == "ssl" else 143, _port),
            security=security,
            username=s.get("username", str),
            password=s.secret("password", required=True),
            folder=s.get("folder", str, "INBOX"),
            processed_folder=s.get("processed_folder", str, "Processed"),
            idle=s.get("idle", bool, True),
            poll_seconds=s.get("poll_seconds", int, 60, _at_least(5)),
            timeout=s.get("timeout", int, 30, _at_least(1)),
        )
        if imap.folder == imap.processed_folder:
            s.fail("processed_folder", "must differ from folder, or nothing would ever leave the inbox")
        s.finish()

    smtp = None
    s = section("smtp")
    if s:
        security = s.get("security", str, "starttls", _one_of(*SECURITY_MODES))
        smtp = Smtp(
            host=s.get("host", str),
            port=s.get("port", int, {"ssl": 465, "starttls": 587, "none": 25}[security], _port),
            security=security,
            username=s.get("username", str, ""),
            password=s.secret("password", required=False),
            timeout=s.get("timeout", int, 30, _at_least(1)),
        )
        s.finish()

    s = section("outbox")
    outbox = Outbox(folder=base / "var" / "outbox")
    if s:
        outbox = Outbox(
            folder=base / s.get("folder", str, "var/outbox"),
            max_attempts=s.get("max_attempts", int, 30, _at_least(1)),
            retry_seconds=s.get("retry_seconds", int, 60, _at_least(1)),
        )
        s.finish()

    listener = None
    s = section("listener")
    if s:
        listener = Listener(
            host=s.get("host", str, "127.0.0.1"),
            port=s.get("port", int, 8025, _port),
            protocol=s.get("protocol", str, "smtp", _one_of("smtp", "lmtp")),
        )
        s.finish()

    s = section("security")
    secret = ""
    secret_file = base / "var" / "secret.key"
    trusted, require_auth, key_days = "", False, 30
    if s:
        secret = s.secret("secret", required=False)
        if secret and len(secret) < 16:
            # the same floor as secret_file: a short secret makes reply keys guessable
            s.fail(
                "secret_env" if "secret_env" in s.data else "secret",
                "gives too short a secret (16 characters at least)",
            )
        secret_file = base / s.get("secret_file", str, "var/secret.key")
        trusted = s.get("trusted_authserv_id", str, "")
        require_auth = s.get("require_authenticated_replies", bool, False)
        key_days = s.get("reply_key_days", int, 30, _at_least(1))
        if require_auth and not trusted:
            s.fail("trusted_authserv_id", "must name your mail server when require_authenticated_replies is true")
        s.finish()
    security = Security(
        secret=secret.encode() if secret else _secret_from_file(file, secret_file),
        trusted_authserv_id=trusted,
        require_authenticated_replies=require_auth,
        reply_key_days=key_days,
    )

    s = section("review")
    review = Review()
    if s:
        review = Review(approvals_required=s.get("approvals_required", int, 1, _at_least(1)))
        s.finish()

    s = section("digest")
    digest = Digest()
    if s:
        digest = Digest(time=s.get("time", str, "08:00", _clock))
        s.finish()

    people = _people(file, data.get("people", []))

    return Settings(
        path=file,
        council=council,
        mailbox=mailbox,
        database_url=database_url,
        outbox=outbox,
        security=security,
        digest=digest,
        people=people,
        review=review,
        imap=imap,
        smtp=smtp,
        listener=listener,
        base_dir=base,
    )


def _people(file: Path, entries: Any) -> tuple[Person, ...]:
    if not isinstance(entries, list):
        raise ConfigError(f"{file}: [[people]] must be a list of tables, each starting with [[people]].")
    people: list[Person] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        s = _Section(file, "people", entry, label=f"[[people]] #{number}")
        person = Person(
            name=s.get("name", str),
            email=s.get("email", str, check=_address),
            role=s.get("role", str, check=_one_of(*ROLES)),
            active=s.get("active", bool, True),
        )
        s.finish()
        if person.email.lower() in seen:
            s.fail("email", f'"{person.email}" appears twice in the roster')
        seen.add(person.email.lower())
        people.append(person)
    return tuple(people)


def _anchor_sqlite(url: str, base: Path) -> str:
    """Make a relative SQLite path relative to the config file, and create its folder."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite:///:memory:" or url.startswith("sqlite:////"):
        return url
    path = base / url[len(prefix) :]
    return prefix + str(path)


def _secret_from_file(file: Path, secret_file: Path) -> bytes:
    """The reply-key secret kept in a file, made on first use so a fresh install just works."""
    try:
        if secret_file.exists():
            value = secret_file.read_bytes().strip()
            if len(value) < 16:
                raise ConfigError(
                    f"{file}: [security] secret_file {secret_file} holds too short a secret (16 characters at least)."
                )
            return value
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        value = os.urandom(32).hex().encode()
        # Written in full under a temporary name, then linked into place: two processes
        # starting together both end up with the one secret that won, never a half-written one.
        temp = secret_file.with_name(f".{secret_file.name}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(value + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, secret_file)
        finally:
            temp.unlink(missing_ok=True)
        return value
    except FileExistsError:
        return secret_file.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"{file}: [security] secret_file {secret_file} cannot be used ({exc.strerror}).") from None
