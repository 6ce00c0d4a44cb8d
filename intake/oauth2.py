"""OAuth 2.0 access tokens for IMAP and SMTP: the client-credentials grant, cached and renewed before they expire.

Microsoft 365 through MSAL (an app registration with a secret or a certificate), Google
Workspace through a service account with domain-wide delegation (google-auth), anything else
through a plain client-credentials POST (Authlib). A token or secret is never logged, shown in
repr, or put in an error; a refusal is one sentence naming the setting to check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any

from intake.config import OAuth2
from intake.errors import IntakeError

MICROSOFT_SCOPE = "https://outlook.office365.com/.default"
GOOGLE_SCOPE = "https://mail.google.com/"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"  # Microsoft Graph (sendMail): a token source of its own
MICROSOFT_LOGIN = "https://login.microsoftonline.com"
OAUTHBEARER = "OAUTHBEARER"  # SASL mechanisms for a bearer token: RFC 7628's, used where offered
XOAUTH2 = "XOAUTH2"  # Google's and Microsoft's older one, the fallback
MAX_MARGIN_SECONDS = 300  # renew this long before expiry (a tenth of a short token's life at most)


class TokenRefused(IntakeError):
    """The identity provider refused our credentials: retrying alone will not help; a setting is wrong."""


class TokenUnavailable(IntakeError):
    """The identity provider could not be reached or answered oddly: worth trying again later."""


@dataclass(frozen=True)
class Grant:
    """One access token and how many seconds it lives."""

    access_token: str
    expires_in: float

    def __repr__(self) -> str:
        return f"Grant(access_token=<hidden>, expires_in={self.expires_in:g})"


Fetch = Callable[[bool], Grant]  # force a new token from the provider (no library cache) -> Grant


def xoauth2_string(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response, before base64: user, bearer token, two ^A at the end."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def oauthbearer_string(user: str, token: str, host: str, port: int) -> str:
    """The SASL OAUTHBEARER initial response (RFC 7628 §3.1), before base64: GS2 header, host, port, token."""
    return f"n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"


def sasl_mechanism(offered: Iterable[str]) -> str:
    """OAUTHBEARER (RFC 7628, the standard) where the server offers it, else XOAUTH2 (what Microsoft offers)."""
    return OAUTHBEARER if OAUTHBEARER in {m.upper() for m in offered} else XOAUTH2


def sasl_responder(mechanism: str, user: str, token: str, host: str, port: int) -> Callable[..., str]:
    """Answers the server's SASL challenges for IMAP and SMTP alike: the initial response first; then the
    server's JSON error challenge gets what the mechanism asks for (^A for OAUTHBEARER, RFC 7628 §3.2.3;
    empty for XOAUTH2), after which the server refuses and the caller renews the token once."""
    answered: list[bool] = []

    def respond(challenge: bytes | None = None) -> str:
        if answered:
            return "\x01" if mechanism == OAUTHBEARER else ""
        answered.append(True)
        if mechanism == OAUTHBEARER:
            return oauthbearer_string(user, token, host, port)
        return xoauth2_string(user, token)

    return respond


class TokenSource:
    """Hands out a valid access token, asking the provider only when the cached one is near its end.

    Thread-safe: the IMAP reader and outbox delivery share one source. `token(force_refresh=True)`
    after a server refused a token that looked valid (revoked, or expired early).
    """

    def __init__(
        self,
        settings: OAuth2,
        user: str = "",
        *,
        fetch: Fetch | None = None,
        clock: Callable[[], float] = time.monotonic,
        scope: str = "",
    ) -> None:
        # scope: another resource than [oauth2] scope, e.g. GRAPH_SCOPE for Graph's sendMail
        self.settings = replace(settings, scope=scope) if scope else settings
        self.user = settings.user or user  # google: the mailbox the service account acts as
        self._fetch = fetch  # made on first use: commands that need no token never read a key file
        self._clock = clock
        self._lock = threading.Lock()
        self._token = ""
        self._renew_at = 0.0

    def token(self, force_refresh: bool = False) -> str:
        """A token valid for a while yet; a new one when forced or near expiry. TokenRefused/TokenUnavailable."""
        with self._lock:
            if force_refresh or not self._token or self._clock() >= self._renew_at:
                if self._fetch is None:
                    self._fetch = make_fetch(self.settings, self.user)
                grant = self._fetch(force_refresh)
                if not grant.access_token:
                    raise TokenUnavailable(f"{self.where}: answered without an access token")
                margin = min(MAX_MARGIN_SECONDS, grant.expires_in / 10)
                self._token = grant.access_token
                self._renew_at = self._clock() + grant.expires_in - margin
            return self._token

    @property
    def where(self) -> str:
        """The provider as named in errors."""
        return f"{self.settings.config_file}: [oauth2] the {provider_name(self.settings)} token endpoint"

    def __repr__(self) -> str:
        return f"<TokenSource {self.settings.provider} client {self.settings.client_id or '-'} token=<hidden>>"


def provider_name(settings: OAuth2) -> str:
    """Microsoft, Google or the token_url's host, as named to the operator."""
    return {"microsoft": "Microsoft", "google": "Google"}.get(settings.provider, settings.token_url or "OAuth")


def scope_of(settings: OAuth2) -> str:
    """The configured scope, else the provider's scope for IMAP and SMTP."""
    if settings.scope:
        return settings.scope
    return GOOGLE_SCOPE if settings.provider == "google" else MICROSOFT_SCOPE


def make_fetch(settings: OAuth2, user: str) -> Fetch:
    """The grant for the configured provider.

    Microsoft with a `token_url` (a test provider, or a sovereign cloud's endpoint given in full)
    goes through the plain client-credentials POST: MSAL accepts only https authorities it can
    discover, so a local test provider is reached that way.
    """
    if settings.provider == "google":
        return _google(settings, user)
    if settings.provider == "microsoft" and not settings.token_url:
        return msal_fetch(settings, f"{MICROSOFT_LOGIN}/{settings.tenant_id}")
    return _client_credentials(settings)


# --- refusals as one sentence ----------------------------------------------------------------

_SETTING_BY_CODE = {
    "AADSTS7000215": "credential",  # invalid client secret
    "AADSTS7000222": "credential",  # the secret has expired
    "AADSTS700027": "credential",  # certificate not registered / assertion invalid
    "AADSTS700016": "client_id",  # no such application in the tenant
    "AADSTS90002": "tenant_id",  # no such tenant
    "AADSTS900023": "tenant_id",  # malformed tenant
    "AADSTS70011": "scope",  # invalid scope
    "AADSTS7000112": "client_id",  # application disabled
}
_SETTING_BY_ERROR = {
    "invalid_client": "credential",
    "unauthorized_client": "client_id",
    "invalid_scope": "scope",
    "invalid_grant": "credential",
    "access_denied": "client_id",
}


def refused(settings: OAuth2, error: str, description: str) -> TokenRefused:
    """One sentence: file, [oauth2] setting, what the provider said, and what to check."""
    first = description.strip().splitlines()[0] if description.strip() else ""
    code = first.split(":", 1)[0] if first.startswith("AADSTS") else ""
    setting = _SETTING_BY_CODE.get(code) or _SETTING_BY_ERROR.get(error, "credential")
    key = settings.credential_key if setting == "credential" else setting
    advice = {
        "credential": "check the secret (or certificate/key) and that it has not expired",
        "client_id": "check the app's client ID and that admin consent was granted",
        "tenant_id": "check the tenant ID",
        "scope": "check the scope (leave it empty for the provider's own)",
    }[setting]
    said = f"{error}: {first}" if first else error
    return TokenRefused(
        f"{settings.config_file}: [oauth2] {key}: {provider_name(settings)} refused the app's credentials "
        f"({said[:300]}) — {advice}."
    )


def unavailable(settings: OAuth2, exc: BaseException) -> TokenUnavailable:
    """The provider could not be reached: one sentence, the exception's class and text (no request data)."""
    return TokenUnavailable(
        f"{settings.config_file}: [oauth2] the {provider_name(settings)} token endpoint could not be reached "
        f"({type(exc).__name__}: {str(exc)[:200]}); it will be tried again"
    )


# --- the three grants ------------------------------------------------------------------------


def msal_fetch(settings: OAuth2, authority: str, **msal_options: Any) -> Fetch:
    """Microsoft 365 through MSAL's ConfidentialClientApplication (secret or certificate); options go to MSAL."""
    import msal  # type: ignore[import-untyped]

    credential: Any = settings.client_secret
    if settings.certificate_file is not None:
        credential = _certificate(settings)
    scopes = [scope_of(settings)]
    holder: dict[str, Any] = {}

    def app(fresh: bool) -> Any:
        # A new application has an empty token cache: how MSAL is made to ask again when forced.
        if fresh or "app" not in holder:
            holder["app"] = msal.ConfidentialClientApplication(
                settings.client_id, client_credential=credential, authority=authority, **msal_options
            )
        return holder["app"]

    def fetch(force: bool) -> Grant:
        try:
            result = app(force).acquire_token_for_client(scopes=scopes)
        except ValueError as exc:  # MSAL's own check of the authority or the credential
            raise refused(settings, "invalid_request", str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - network errors of requests, under MSAL
            raise unavailable(settings, exc) from None
        if "access_token" not in result:
            raise refused(settings, str(result.get("error", "refused")), str(result.get("error_description", "")))
        return Grant(str(result["access_token"]), float(result.get("expires_in", 3600)))

    return fetch


def _certificate(settings: OAuth2) -> dict[str, str]:
    """MSAL's certificate credential from one PEM file holding the private key and the certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import Encoding

    assert settings.certificate_file is not None
    pem = settings.certificate_file.read_bytes()
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise refused(settings, "invalid_client", "the file holds no PEM certificate") from None
    return {
        "private_key": pem.decode("ascii", "replace"),
        "thumbprint": cert.fingerprint(hashes.SHA1()).hex(),  # SHA-1: the thumbprint Entra ID shows and expects
        "public_certificate": cert.public_bytes(Encoding.PEM).decode("ascii"),
    }


def _client_credentials(settings: OAuth2) -> Fetch:
    """A plain client-credentials POST to `token_url` (RFC 6749 §4.4), client id and secret in the body."""
    from authlib.integrations.requests_client import OAuth2Session, OAuthError  # type: ignore[import-untyped]

    url = settings.token_url or f"{MICROSOFT_LOGIN}/{settings.tenant_id}/oauth2/v2.0/token"

    def fetch(force: bool) -> Grant:
        session = OAuth2Session(
            settings.client_id,
            settings.client_secret,
            scope=scope_of(settings),
            token_endpoint_auth_method="client_secret_post",
        )
        try:
            token = session.fetch_token(url, grant_type="client_credentials", timeout=30)
        except OAuthError as exc:
            raise refused(settings, str(exc.error or "refused"), str(exc.description or "")) from None
        except Exception as exc:  # noqa: BLE001 - network errors, or a page that is not JSON
            raise unavailable(settings, exc) from None
        finally:
            session.close()
        return Grant(str(token.get("access_token", "")), float(token.get("expires_in", 3600)))

    return fetch


def _google(settings: OAuth2, user: str) -> Fetch:
    """Google Workspace: the service account's signed JWT for `user` (domain-wide delegation)."""
    import json

    from google.auth.exceptions import GoogleAuthError, RefreshError, TransportError
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account

    assert settings.key_file is not None
    try:
        info = json.loads(settings.key_file.read_text(encoding="utf-8"))
        if settings.token_url:
            info["token_uri"] = settings.token_url
        base = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=[scope_of(settings)]
        )
    except (OSError, ValueError, KeyError, GoogleAuthError) as exc:
        raise TokenRefused(
            f"{settings.config_file}: [oauth2] key_file: {settings.key_file} is not a service account's JSON key "
            f"({type(exc).__name__}) — download a new key from the Google Cloud console."
        ) from None
    credentials = base.with_subject(user) if user else base

    def fetch(force: bool) -> Grant:
        try:
            credentials.refresh(Request())
        except TransportError as exc:
            raise unavailable(settings, exc) from None
        except RefreshError as exc:
            data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
            raise refused(
                settings, str(data.get("error", "refused")), str(data.get("error_description", exc.args[0]))
            ) from None
        expiry = credentials.expiry
        lives = (expiry.replace(tzinfo=UTC).timestamp() - time.time()) if expiry is not None else 3600.0
        return Grant(str(credentials.token or ""), max(lives, 0.0))

    return fetch
