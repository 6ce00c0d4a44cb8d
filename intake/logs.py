"""Log lines for operators and journald: one event per line, key=value (or JSON), never a secret.

`configure` installs one handler on the root logger with a `Redactor` in front of it: every
configured secret (passwords, the OAuth client secret, the reply-key secret, a database
password) and anything shaped like a credential (password=…, Bearer …, AUTH PLAIN …, a JWT,
a URL's password) is replaced by [redacted] before any handler sees the record.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

REDACTED = "[redacted]"

_CREDENTIAL_SHAPES = (
    # password=hunter2, "client_secret": "…", token: abc, api_key=…, Authorization: Basic …
    re.compile(
        r"(?i)(\b(?:password|passwd|pwd|secret|client_secret|access_token|refresh_token|id_token|token|api[_-]?key"
        r"|authorization)\b\"?\s*[=:]\s*\"?)(?:(?:basic|bearer)\s+)?[^\s\"',;&}]+"
    ),
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9\-._~+/]+=*"),
    re.compile(r"(?i)(\bAUTH\s+(?:PLAIN|LOGIN|XOAUTH2|OAUTHBEARER|CRAM-MD5)\s+)\S+"),
    re.compile(r"()\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # a JSON Web Token
    re.compile(r"(://[^/\s:@]+:)[^@\s/]+(?=@)"),  # postgresql://user:password@host
)

# The attributes every LogRecord has; anything else was given with `extra=` and is printed too.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class Redactor(logging.Filter):
    """Replace known secrets and credential-shaped text in a record's message and traceback."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Also redact these values (short ones are ignored: they would redact ordinary words)."""
        self.secrets.update(s for s in secrets if s and len(s) >= 6)

    def redact(self, text: str) -> str:
        """`text` with every secret and credential-shaped value replaced."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        for shape in _CREDENTIAL_SHAPES:
            text = shape.sub(lambda m: m.group(1) + REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place, so that no handler after this one sees a secret."""
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        record.exc_info = None  # the text above is the traceback now
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str):
                record.__dict__[key] = self.redact(value)
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    at = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    fields: dict[str, Any] = {"at": at, "level": record.levelname.lower(), "logger": record.name}
    fields["msg"] = record.getMessage()
    fields.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
    if record.exc_text:
        fields["exc"] = record.exc_text
    return fields


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    if text and not re.search(r"[\s\"=\\]", text):
        return text
    return json.dumps(text, ensure_ascii=False)  # quoted, with \n, \" and \\ escaped: still one line


class KeyValueFormatter(logging.Formatter):
    """at=… level=info logger=intake.delivery msg="sent 3 message(s)" – one line per event."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as key=value pairs on one line."""
        return " ".join(f"{key}={_value(value)}" for key, value in _fields(record).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        return json.dumps(_fields(record), default=str, ensure_ascii=False)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Our handler, so that configuring again replaces it rather than adding a second."""


def configure(verbose: bool, as_json: bool, stream: IO[str], secrets: Iterable[str] = ()) -> Redactor:
    """Log to `stream` as key=value (or JSON) lines through a Redactor; returns it, to add secrets to later.

    Where something else already handles the root logger (an embedding program, a test runner),
    its handlers are kept and get the Redactor too, as logging.basicConfig would keep them.
    """
    root = logging.getLogger()
    redactor = Redactor(secrets)
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    if root.handlers:
        for handler in root.handlers:
            for old_filter in [f for f in handler.filters if isinstance(f, Redactor)]:
                handler.removeFilter(old_filter)
            handler.addFilter(redactor)
    else:
        handler = _Handler(stream)
        handler.setFormatter(JsonFormatter() if as_json else KeyValueFormatter())
        handler.addFilter(redactor)
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    return redactor


def secrets_of(settings: Any) -> list[str]:
    """Every secret value the settings hold, to be redacted wherever it might appear."""
    found: list[str] = []
    for section, name in (("imap", "password"), ("smtp", "password"), ("oauth2", "client_secret")):
        value = getattr(getattr(settings, section, None), name, "")
        if isinstance(value, str):
            found.append(value)
    security = getattr(settings, "security", None)
    try:
        key = security.secret if security is not None else b""  # the given secret, else the file's, if made yet
    except Exception:  # noqa: BLE001 - no secret yet (init makes it): nothing to redact
        key = b""
    if isinstance(key, bytes) and key:
        found.append(key.decode("utf-8", "replace").strip())
    match = re.search(r"://[^/\s:@]+:([^@\s/]+)@", str(getattr(settings, "database_url", "")))
    if match:
        found.append(match.group(1))
    return found
