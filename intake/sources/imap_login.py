"""Logging in to IMAP: LOGIN with a password, or AUTHENTICATE with an OAuth 2.0 token.

With a token the mechanism is OAUTHBEARER (RFC 7628) where the server's CAPABILITY offers
it, else XOAUTH2; the SASL strings and the answer to an error challenge come from
intake.oauth2, shared with SMTP.
"""

from __future__ import annotations

import imaplib

from imap_tools import BaseMailBox
from imap_tools.errors import MailboxLoginError

from intake.config import Imap
from intake.oauth2 import sasl_mechanism, sasl_responder

PASSWORD = "LOGIN"


class Refused(Exception):
    """The server said NO to our login (LOGIN or AUTHENTICATE)."""


def offered_mechanisms(box: BaseMailBox) -> list[str]:
    """The SASL mechanisms in the server's CAPABILITY before login (AUTH=…)."""
    return [c[5:] for c in (str(c).upper() for c in box.client.capabilities) if c.startswith("AUTH=")]


def log_in(box: BaseMailBox, settings: Imap, token: str | None) -> str:
    """LOGIN with the password (no token), else AUTHENTICATE with the token; the mechanism used. Refused on NO."""
    try:
        if token is None:
            box.login(settings.username, settings.password, initial_folder=None)
            return PASSWORD
        mechanism = sasl_mechanism(offered_mechanisms(box))
        respond = sasl_responder(mechanism, settings.username, token, settings.host, settings.port)
        box.client.authenticate(mechanism, lambda challenge: respond(challenge).encode())  # NO raises
        return mechanism
    except MailboxLoginError as exc:
        raise Refused() from exc
    except imaplib.IMAP4.error as exc:  # imaplib's AUTHENTICATE raises this on NO (abort: a dropped line)
        if token is None or isinstance(exc, imaplib.IMAP4.abort):
            raise
        raise Refused() from exc


def refusal(settings: Imap, where: str) -> str:
    """Why a login to `where` was refused, naming the settings to check."""
    if settings.auth != "oauth2":
        return f"{where} refused the login for {settings.username}; check [imap] username and password"
    return (
        f"{where} refused the OAuth 2.0 login for {settings.username} even with a new token; check [imap] username "
        "and that the app may open this mailbox (IMAP.AccessAsApp and the mailbox granted to its service "
        "principal, or Google's domain-wide delegation)"
    )
