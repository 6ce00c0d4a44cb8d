"""The token source and the [oauth2] config: tokens cached and renewed before they expire, each
provider's grant against the test provider (MSAL over https, Google's signed JWT, the plain
client-credentials POST), refusals as one sentence naming the setting, and a password-only
config unchanged."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest
from servers import TokenServer, free_port
from support import self_signed_certificate, settings_data

from intake import config
from intake.config import ConfigError, OAuth2
from intake.oauth2 import (
    MICROSOFT_SCOPE,
    Grant,
    TokenRefused,
    TokenSource,
    TokenUnavailable,
    msal_fetch,
    xoauth2_string,
)

USER = "smat.info@example.org"
SECRET = "app-secret-value-0123"


def oauth(provider: str = "generic", **keys: object) -> OAuth2:
    values: dict[str, object] = {"client_id": "smat-app", "client_secret": SECRET, "config_file": Path("config.toml")}
    return OAuth2(provider=provider, **{**values, **keys})  # type: ignore[arg-type]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_cached_and_renewed_a_margin_before_it_expires():
    clock, asked = Clock(), []

    def fetch(force: bool) -> Grant:
        asked.append(force)
        return Grant(f"token-{len(asked)}", 3600)

    source = TokenSource(oauth(), fetch=fetch, clock=clock)
    assert source.token() == "token-1"
    clock.now += 3000
    assert source.token() == "token-1"  # still well inside its life
    clock.now += 301  # 5 minutes before the end: renewed early, never handed out stale
    assert source.token() == "token-2"
    assert source.token(force_refresh=True) == "token-3"
    assert asked == [False, False, True]


def test_a_short_lived_token_is_renewed_at_nine_tenths_of_its_life():
    clock, count = Clock(), iter(range(100))
    source = TokenSource(oauth(), fetch=lambda force: Grant(f"t{next(count)}", 60), clock=clock)
    first = source.token()
    clock.now += 53
    assert source.token() == first
    clock.now += 2
    assert source.token() != first


def test_the_xoauth2_string_is_the_one_the_mechanism_defines():
    assert xoauth2_string("a@b.example", "T") == "user=a@b.example\x01auth=Bearer T\x01\x01"


@pytest.fixture
def provider():
    with TokenServer() as server:
        yield server


def test_the_client_credentials_grant_gets_a_token_the_provider_accepts_for_the_mailbox(provider):
    source = TokenSource(oauth(token_url=provider.token_url))
    token = source.token()
    assert provider.user_of(token) == USER
    assert provider.grants == ["client_credentials"]
    assert token not in repr(source) and SECRET not in repr(source)


def test_a_second_source_may_ask_for_another_resource_such_as_graph(provider):
    from intake.oauth2 import GRAPH_SCOPE

    source = TokenSource(oauth(token_url=provider.token_url), scope=GRAPH_SCOPE)
    assert provider.user_of(source.token()) == USER
    assert provider.scopes == [GRAPH_SCOPE]


def test_microsoft_with_a_token_url_uses_the_plain_grant_and_outlooks_scope(provider):
    source = TokenSource(oauth("microsoft", tenant_id="t", token_url=provider.token_url))
    assert provider.user_of(source.token()) == USER
    assert provider.scopes == [MICROSOFT_SCOPE]


def test_a_wrong_secret_is_one_sentence_naming_the_file_and_the_setting(provider):
    source = TokenSource(oauth(token_url=provider.token_url, client_secret="wrong-secret-xyz"))
    with pytest.raises(TokenRefused) as refused:
        source.token()
    message = str(refused.value)
    assert message.startswith("config.toml: [oauth2] client_secret_env: ")
    assert "AADSTS7000215" in message and "check the secret" in message
    assert "\n" not in message and "wrong-secret-xyz" not in message


def test_an_unknown_app_names_the_client_id(provider):
    with pytest.raises(TokenRefused, match=r"\[oauth2\] client_id: .*AADSTS700016"):
        TokenSource(oauth(token_url=provider.token_url, client_id="nobody")).token()


def test_an_unreachable_provider_is_a_temporary_failure_said_once():
    url = f"http://127.0.0.1:{free_port()}/token"
    with pytest.raises(TokenUnavailable, match=r"could not be reached .*tried again"):
        TokenSource(oauth(token_url=url)).token()


def test_google_signs_a_jwt_for_the_mailbox_user_domain_wide_delegation(provider, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key_file = tmp_path / "service-account.json"
    key_file.write_text(
        json.dumps(
            {
                "type": "service_account",
                "client_email": "smat-intake@council-project.iam.gserviceaccount.com",
                "client_id": "1234567890",
                "private_key_id": "abc",
                "private_key": pem,
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    settings = OAuth2(provider="google", key_file=key_file, token_url=provider.token_url, credential_key="key_file")
    token = TokenSource(settings, USER).token()
    assert provider.user_of(token) == USER  # the token acts as the mailbox, not as the service account
    assert provider.grants == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]


def test_a_file_that_is_no_service_account_key_is_named(tmp_path):
    key_file = tmp_path / "key.json"
    key_file.write_text("{}")
    with pytest.raises(TokenRefused, match=r"\[oauth2\] key_file: .* is not a service account's JSON key"):
        TokenSource(OAuth2(provider="google", key_file=key_file), USER).token()


# --- MSAL, for real: it insists on an https authority it can discover ------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"), rsa=True)


@pytest.fixture
def https_provider(tls, monkeypatch):
    cert, key = tls
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # requests (under MSAL) trusts the test certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with TokenServer(ssl_context=context) as server:
        yield server


def test_msal_gets_a_token_with_the_client_secret(https_provider):
    settings = oauth("microsoft", tenant_id="contoso")
    fetch = msal_fetch(settings, f"{https_provider.base_url}/contoso", instance_discovery=False)
    source = TokenSource(settings, fetch=fetch)
    assert https_provider.user_of(source.token()) == USER
    assert https_provider.user_of(source.token(force_refresh=True)) == USER
    assert https_provider.grants == ["client_credentials", "client_credentials"]  # forced: MSAL asked again


def test_msal_refusal_names_the_secret(https_provider):
    settings = oauth("microsoft", tenant_id="contoso", client_secret="wrong")
    fetch = msal_fetch(settings, f"{https_provider.base_url}/contoso", instance_discovery=False)
    with pytest.raises(TokenRefused, match=r"\[oauth2\] client_secret_env: Microsoft refused .*AADSTS7000215"):
        TokenSource(settings, fetch=fetch).token()


def test_msal_gets_a_token_with_a_certificate(https_provider, tls):
    cert, key = tls
    both = cert.parent / "app.pem"
    both.write_text(key.read_text() + cert.read_text())
    settings = oauth("microsoft", tenant_id="contoso", client_secret="", certificate_file=both)
    fetch = msal_fetch(settings, f"{https_provider.base_url}/contoso", instance_discovery=False)
    assert https_provider.user_of(TokenSource(settings, fetch=fetch).token()) == USER


# --- the config -----------------------------------------------------------------------------


class Server:
    host, port, user, password = "imap.example.org", 993, USER, "pw"


def load(tmp_path: Path, **sections: dict) -> config.Settings:
    data = settings_data(tmp_path, "sqlite:///x.db", imap=Server(), smtp=Server(), overrides=sections)
    return config.from_dict(data, tmp_path / "config.toml")


def test_a_password_only_config_is_read_as_before(tmp_path):
    settings = load(tmp_path)
    assert settings.imap is not None and settings.smtp is not None
    assert (settings.imap.auth, settings.smtp.auth, settings.oauth2) == ("password", "password", None)
    assert settings.imap.password == "pw"


def test_oauth2_without_an_oauth2_section_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r'\[imap\] auth = "oauth2" needs an \[oauth2\] section'):
        load(tmp_path, imap={"auth": "oauth2"})


def test_an_oauth2_section_reads_the_secret_from_the_environment_and_hides_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SMAT_OAUTH_SECRET", SECRET)
    oauth2 = {"provider": "microsoft", "tenant_id": "t", "client_id": "c", "client_secret_env": "SMAT_OAUTH_SECRET"}
    settings = load(tmp_path, imap={"auth": "oauth2"}, smtp={"auth": "oauth2", "username": USER}, oauth2=oauth2)
    assert settings.oauth2 is not None and settings.oauth2.client_secret == SECRET
    assert settings.oauth2.credential_key == "client_secret_env"
    assert SECRET not in repr(settings)


def test_the_secret_may_be_kept_in_a_file(tmp_path):
    (tmp_path / "oauth.secret").write_text(SECRET + "\n")
    oauth2 = {"provider": "microsoft", "tenant_id": "t", "client_id": "c", "client_secret_file": "oauth.secret"}
    settings = load(tmp_path, oauth2=oauth2)
    assert settings.oauth2 is not None and settings.oauth2.client_secret == SECRET
    assert settings.oauth2.credential_key == "client_secret_file"


@pytest.mark.parametrize(
    ("oauth2", "problem"),
    [
        ({"provider": "microsoft", "client_id": "c", "client_secret": "s"}, r"\[oauth2\] tenant_id is required"),
        ({"provider": "microsoft", "tenant_id": "t", "client_id": "c"}, r"\[oauth2\] client_secret_env is required"),
        ({"provider": "generic", "client_id": "c", "client_secret": "s"}, r"\[oauth2\] token_url is required"),
        ({"provider": "google"}, r"\[oauth2\] key_file is required"),
        ({"provider": "azure"}, r"\[oauth2\] provider must be one of microsoft, google, generic"),
        (
            {"provider": "microsoft", "tenant_id": "t", "client_id": "c", "client_secret": "s", "key_file": "k"},
            r"\[oauth2\] client_secret_file conflicts",
        ),
    ],
)
def test_oauth2_mistakes_are_named(tmp_path, oauth2, problem):
    with pytest.raises(ConfigError, match=problem):
        load(tmp_path, oauth2=oauth2)


def test_smtp_oauth2_needs_the_sending_mailbox(tmp_path):
    oauth2 = {"provider": "generic", "client_id": "c", "client_secret": "s", "token_url": "https://idp/token"}
    with pytest.raises(ConfigError, match=r"\[smtp\] username is required when auth"):
        load(tmp_path, smtp={"auth": "oauth2", "username": ""}, oauth2=oauth2)


def test_microsoft_scope_is_outlooks_default():
    assert MICROSOFT_SCOPE == "https://outlook.office365.com/.default"


REPO = Path(__file__).resolve().parent.parent


def example_with(provider_heading: str) -> str:
    """config.example.toml with [imap] and [smtp] uncommented for OAuth 2.0, and one provider's [oauth2] block."""
    lines: list[str] = []
    mode, seen_heading = "", False
    for line in (REPO / "config.example.toml").read_text().splitlines():
        if line in ("# [imap]", "# [smtp]"):
            mode = "section"
        elif line.startswith(provider_heading):
            seen_heading = True
        elif line == "# [oauth2]" and seen_heading and mode != "done-oauth2":
            mode, seen_heading = "oauth2", False
        elif not line.startswith("# ") or (mode == "oauth2" and line == "#"):
            mode = "done-oauth2" if mode == "oauth2" else ""
        if mode in ("section", "oauth2"):
            line = line[2:].replace('auth = "password"', 'auth = "oauth2"')
            if line.startswith("password_env"):
                continue
        lines.append(line)
    return "\n".join(lines)


def test_the_examples_microsoft_365_block_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("SMAT_OAUTH_SECRET", SECRET)
    path = tmp_path / "config.toml"
    path.write_text(example_with("# Microsoft 365 (Exchange Online)"))
    settings = config.load(path)
    assert settings.imap is not None and settings.imap.auth == "oauth2" and settings.imap.password == ""
    assert settings.smtp is not None and settings.smtp.auth == "oauth2"
    assert settings.oauth2 is not None and settings.oauth2.provider == "microsoft"
    assert settings.oauth2.client_secret == SECRET


def test_the_examples_google_block_loads(tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "google-service-account.json").write_text("{}")
    path = tmp_path / "config.toml"
    path.write_text(example_with("# Google Workspace, with"))
    settings = config.load(path)
    assert settings.oauth2 is not None and settings.oauth2.provider == "google"
    assert settings.oauth2.key_file == tmp_path / "var" / "google-service-account.json"
    assert settings.oauth2.user == "smat.info@biggleswadetowncouncil.gov.uk"
