"""The [oauth2] section's builder and checks: where tokens come from, and the one credential that proves the app."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from intake.config.settings import OAuth2
from intake.errors import ConfigError

if TYPE_CHECKING:
    from intake.config.table import Context

PROVIDERS = ("microsoft", "google", "generic")


def build_oauth2(values: Mapping[str, Any], context: Context) -> OAuth2:
    """[oauth2] as settings: the secret file read now (so a mistake shows at start), paths from the config's folder."""
    secret = values["client_secret"]
    credential_key = "client_secret_env"  # the way the example and README give it (inline works too)
    if values["client_secret_file"]:
        credential_key = "client_secret_file"
        path = context.base / values["client_secret_file"]
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{context.file}: [oauth2] client_secret_file {path} cannot be read ({getattr(exc, 'strerror', exc)})."
            ) from None
    certificate = context.base / values["certificate_file"] if values["certificate_file"] else None
    key_file = context.base / values["key_file"] if values["key_file"] else None
    if certificate is not None:
        credential_key = "certificate_file"
    if key_file is not None:
        credential_key = "key_file"
    for key, path in (("certificate_file", certificate), ("key_file", key_file)):
        if path is not None and not path.is_file():
            raise ConfigError(f"{context.file}: [oauth2] {key} {path} is not a file.")
    return OAuth2(
        provider=values["provider"],
        client_id=values["client_id"],
        tenant_id=values["tenant_id"],
        client_secret=secret,
        certificate_file=certificate,
        key_file=key_file,
        user=values["user"],
        token_url=values["token_url"],
        scope=values["scope"],
        credential_key=credential_key,
        config_file=context.file,
    )


def credentials(values: Mapping[str, Any]) -> int:
    """How many of the ways to prove the app's identity are given."""
    return sum(bool(values[k]) for k in ("client_secret", "client_secret_file", "certificate_file", "key_file"))
