"""The checks a config key may have: each returns the problem in words, or None."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from intake.config.addresses import is_address
from intake.config.secret import MIN_LENGTH

Check = Callable[[Any], "str | None"]


def kind_name(value: Any) -> str:
    """How a TOML value's type is named to the person who wrote it."""
    return {
        dict: "a table",
        list: "a list",
        str: "a string",
        bool: "true/false",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def show(value: Any) -> str:
    """A value as quoted back in an error: strings in quotes, tables and lists by their kind."""
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value) if not isinstance(value, (dict, list)) else kind_name(value)


def one_of(*choices: str) -> Check:
    """The value must be one of *choices*."""

    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}, not {show(value)}"

    return check


def port(value: int) -> str | None:
    """A TCP port number."""
    return None if 0 < value < 65536 else f"must be a port number between 1 and 65535, not {value}"


def at_least(low: int) -> Check:
    """A whole number no smaller than *low*."""
    return lambda value: None if value >= low else f"must be at least {low}, not {value}"


def address(value: str) -> str | None:
    """A plain email address."""
    return None if is_address(value) else f'must be an email address such as name@example.org, not "{value}"'


def addresses(value: list[str]) -> str | None:
    """A list of plain email addresses."""
    for item in value:
        problem = address(item)
        if problem:
            return problem
    return None


def optional_address(value: str) -> str | None:
    """An email address, or empty."""
    return None if value == "" else address(value)


def optional_web_address(value: str) -> str | None:
    """An http(s):// address people can open (the privacy notice), or empty."""
    parts = urlsplit(value)
    if value == "" or (parts.scheme in ("https", "http") and parts.hostname):
        return None
    return f'must be a web address such as "https://www.example.gov.uk/privacy", not "{value}"'


def timezone(value: str) -> str | None:
    """An IANA time zone."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f'must be a time zone such as "Europe/London", not "{value}"'
    return None


def clock(value: str) -> str | None:
    """A time of day, HH:MM."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return None
    return f'must be a time of day such as "08:00", not "{value}"'


def iso_date(value: str) -> str | None:
    """A calendar date, YYYY-MM-DD (empty: none given)."""
    if not value:
        return None
    try:
        date.fromisoformat(value)
    except ValueError:
        return f'must be a date such as "2027-05-01", not "{value}"'
    return None if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else f'must be a date such as "2027-05-01", not "{value}"'


def database_url(value: str) -> str | None:
    """A URL of a database we can use."""
    if value.startswith(("sqlite:", "postgresql")):
        return None
    return f'must be a sqlite:/// or postgresql+psycopg:// URL, not "{value}"'


def long_secret(value: str) -> str | None:
    """A secret long enough that reply keys cannot be guessed (the same floor as secret_file)."""
    return (
        None
        if not value or len(value) >= MIN_LENGTH
        else f"gives too short a secret ({MIN_LENGTH} characters at least)"
    )


def token_url(value: str) -> str | None:
    """An http(s) URL of a token endpoint, or empty for the provider's own."""
    if value == "" or value.startswith(("https://", "http://")):
        return None
    return f'must be an https:// URL of the token endpoint, not "{value}"'


def web_url(value: str) -> str | None:
    """A web page's https:// (or http://) address that people can open, or empty."""
    parts = urlsplit(value)
    if value == "" or (parts.scheme in ("https", "http") and parts.hostname and " " not in value):
        return None
    return f'must be a web address such as "https://www.example.gov.uk/privacy", not "{value}"'


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def graph_url(value: str) -> str | None:
    """An https:// address for Graph; http:// only to a server on this machine (a test stand-in).

    The access token travels with every request: never in clear over a network.
    """
    parts = urlsplit(value)
    if parts.hostname and (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)):
        return None
    return f'must be an https:// address such as "https://graph.microsoft.com/v1.0", not "{value}"'
