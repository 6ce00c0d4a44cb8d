"""Which transport sends the outbox, from the settings: Microsoft Graph, SMTP, or .eml files in a folder.

`run`'s delivery process makes its own (its own token sources too) from the same settings.
"""

from __future__ import annotations

from collections.abc import Callable

from intake.config import Settings
from intake.delivery.folder import FolderTransport
from intake.delivery.smtp import SmtpTransport
from intake.delivery.transport import Transport
from intake.errors import ConfigError
from intake.oauth2 import GRAPH_SCOPE, TokenSource


def make_tokens(settings: Settings) -> TokenSource | None:
    """The OAuth 2.0 token source if [oauth2] is configured (Google acts as the [imap] or [smtp] user)."""
    if settings.oauth2 is None:
        return None
    user = (settings.imap.username if settings.imap else "") or (settings.smtp.username if settings.smtp else "")
    return TokenSource(settings.oauth2, user or settings.mailbox.address)


def make_graph_tokens(settings: Settings) -> TokenSource | None:
    """Graph's own token source (its scope is Graph's, not IMAP's), if [graph] is configured; checked at start."""
    if settings.graph is None:
        return None
    if settings.oauth2 is None:
        raise ConfigError(
            f"{settings.path}: [graph] needs [oauth2]: Microsoft Graph takes OAuth 2.0 tokens only, "
            "so add an [oauth2] section for the app registration."
        )
    return TokenSource(settings.oauth2, settings.graph.user, scope=GRAPH_SCOPE)


def make_transport(
    settings: Settings, tokens: TokenSource | None = None, graph_token: Callable[[bool], str] | None = None
) -> Transport:
    """Microsoft Graph if [graph] is configured, else SMTP through [smtp], else .eml files in the [outbox] folder.

    `tokens` logs in to the relay with XOAUTH2 ([smtp] auth = "oauth2"); `graph_token(force_refresh)` gives
    Graph its access token.
    """
    if settings.graph is not None:
        if graph_token is None:
            raise ConfigError(
                f"{settings.path}: [graph] needs [oauth2]: Microsoft Graph takes OAuth 2.0 tokens only, "
                "so add an [oauth2] section for the app registration."
            )
        from intake.delivery.graph import GraphTransport  # requests is imported only when Graph sends

        graph = settings.graph
        return GraphTransport(graph.user, graph_token, graph.base_url, graph.timeout)
    if settings.smtp is not None:
        return SmtpTransport(settings.smtp, tokens)
    return FolderTransport(settings.outbox.folder)
