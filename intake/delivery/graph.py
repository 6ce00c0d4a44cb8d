"""Delivery through Microsoft Graph (`POST /users/{id}/sendMail`), for tenants with SMTP AUTH switched off.

The message we rendered goes unchanged, as MIME base64-encoded with `Content-Type: text/plain`
(Graph's MIME send), so its Message-ID header is the one we chose and a resend after a crash
keeps it. Graph takes the recipients from the To, Cc and Bcc headers, not from an envelope,
so a message whose headers name other people than the outbox row is refused before sending.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from urllib.parse import quote, urlsplit

import requests

from intake.delivery.transport import PermanentFailure, TemporaryFailure

DEFAULT_BASE_URL = "https://graph.microsoft.com/v1.0"
# What to check when Graph will not take our token, even a fresh one.
TOKEN_SETTINGS = "[oauth2] (tenant, client and secret) and the app's Mail.Send permission for [graph] user"


class GraphThrottled(TemporaryFailure):
    """Graph said 429 or 503: try again, not before `retry_after` seconds (0 if it did not say)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class GraphTransport:
    """Sends each message with one `sendMail` call; a token Graph refuses is refreshed once per message.

    `token(force_refresh)` gives an OAuth 2.0 access token for Graph; it is sent only in the
    Authorization header and never appears in an error or the log.
    """

    def __init__(
        self,
        user: str,
        token: Callable[[bool], str],
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30,
    ) -> None:
        self.user = user
        self.token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.url = f"{self.base_url}/users/{quote(user, safe='@')}/sendMail"
        self._http: requests.Session | None = None

    def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> dict[str, str]:
        """Send *raw* as it is; raise TemporaryFailure to retry later, PermanentFailure when retrying cannot help."""
        check_recipients(recipients, raw)
        body = base64.b64encode(raw)
        response = self._post(body, self._token(False))
        if response.status_code == 401:
            # An expired or revoked token: one fresh token, one more try.
            response = self._post(body, self._token(True))
            if response.status_code == 401:
                raise TemporaryFailure(
                    f"Microsoft Graph refused our access token for {self.user} even when fresh "
                    f"({_error(response)}); check {TOKEN_SETTINGS}."
                )
        return self._answer(response)

    def _token(self, force_refresh: bool) -> str:
        try:
            return self.token(force_refresh)
        except Exception as exc:  # noqa: BLE001 - whatever the token source raises, the mail waits
            raise TemporaryFailure(f"no access token for Microsoft Graph: {exc}") from exc

    def _post(self, body: bytes, token: str) -> requests.Response:
        if self._http is None:
            self._http = requests.Session()
        try:
            return self._http.post(
                self.url,
                data=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
                timeout=self.timeout,
                allow_redirects=False,  # never carry the token to another address
            )
        except requests.RequestException as exc:
            self.close()
            raise TemporaryFailure(f"Microsoft Graph at {_where(self.base_url)} cannot be reached: {exc}") from exc

    def _answer(self, response: requests.Response) -> dict[str, str]:
        status = response.status_code
        if 200 <= status < 300:  # 202 Accepted, as documented
            return {}
        if status in (429, 503):
            wait = retry_after(response.headers.get("Retry-After", ""))
            asked = f"; Graph asked us to wait {wait:.0f} s" if wait else ""
            raise GraphThrottled(f"Microsoft Graph is busy ({status} {_error(response)}){asked}", wait)
        if status == 408 or status >= 500:
            raise TemporaryFailure(f"Microsoft Graph could not take the message now ({status} {_error(response)})")
        if 300 <= status < 400:
            raise PermanentFailure(
                f"Microsoft Graph at {_where(self.base_url)} redirected us ({status}); check [graph] base_url"
            )
        raise PermanentFailure(f"Microsoft Graph refused the message for {self.user} ({status} {_error(response)})")

    def close(self) -> None:
        """Close the kept HTTP connection."""
        if self._http is not None:
            self._http.close()
            self._http = None


def check_recipients(recipients: Sequence[str], raw: bytes) -> None:
    """Refuse a message whose To/Cc/Bcc headers and outbox recipients differ: Graph obeys the headers.

    Each message we render has one recipient in To, so the two agree; if they ever did not,
    Graph would send where the outbox did not mean to, or not where it did.
    """
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    named = {addr.lower() for field in ("To", "Cc", "Bcc") for _, addr in getaddresses(headers.get_all(field, []))}
    named.discard("")
    wanted = {r.lower() for r in recipients}
    if wanted - named:
        raise PermanentFailure(
            f"the message's headers do not name {', '.join(sorted(wanted - named))}, "
            "so Microsoft Graph would not deliver it to them; not sent"
        )
    if named - wanted:
        raise PermanentFailure(
            f"the message's headers also name {', '.join(sorted(named - wanted))}, "
            "whom Microsoft Graph would send it to as well; not sent"
        )


def retry_after(value: str) -> float:
    """Seconds to wait from a Retry-After header (a number of seconds, or an HTTP date); 0 if absent or unreadable."""
    value = value.strip()
    if not value:
        return 0
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0)


def _error(response: requests.Response) -> str:
    """Graph's error code and message from its JSON body, else the HTTP reason, on one line."""
    try:
        error = json.loads(response.content or b"{}").get("error", {})
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    code, message = str(error.get("code", "")), str(error.get("message", ""))
    text = f"{code}: {message}" if code and message else code or message or (response.reason or "no reason given")
    return " ".join(text.split())[:300]


def _where(base_url: str) -> str:
    """The host (and port) of the Graph address, for errors."""
    return urlsplit(base_url).netloc or base_url
