"""OAUTHBEARER (RFC 7628) where the server offers it, XOAUTH2 where it does not, for IMAP and SMTP alike,
against a real Dovecot and an aiosmtpd relay that check the tokens; a refused bearer token is answered
with ^A and renewed once. Which mechanism was used is read from Dovecot's own log and the relay's record."""

from __future__ import annotations

import pytest
from servers import OAuthDovecot, OAuthSmtpSink
from support import wait_until
from test_oauth_mail import (  # noqa: F401 - app_secret: the autouse fixture that sets the app's secret
    app_secret,
    oauth_service,
    test_a_draft_comes_in_and_is_acknowledged_with_oauth2_logins_on_imap_and_smtp,
)

from intake.delivery.smtp import SmtpTransport
from intake.oauth2 import OAUTHBEARER, XOAUTH2, oauthbearer_string, sasl_mechanism, sasl_responder
from intake.service import Service

BOTH = ("XOAUTH2", "OAUTHBEARER")


def test_the_oauthbearer_string_is_the_one_rfc_7628_defines():
    assert oauthbearer_string("a@b.example", "T", "imap.example", 993) == (
        "n,a=a@b.example,\x01host=imap.example\x01port=993\x01auth=Bearer T\x01\x01"
    )
    assert sasl_mechanism(["PLAIN", "XOAUTH2", "oauthbearer"]) == OAUTHBEARER
    assert sasl_mechanism(["PLAIN", "XOAUTH2"]) == XOAUTH2
    respond = sasl_responder(OAUTHBEARER, "a@b.example", "T", "h", 1)
    assert respond(b"").startswith("n,a=a@b.example,")
    assert respond(b'{"status":"invalid_token"}') == "\x01"  # RFC 7628 §3.2.3: the error challenge gets ^A
    respond = sasl_responder(XOAUTH2, "a@b.example", "T", "h", 1)
    assert respond() == "user=a@b.example\x01auth=Bearer T\x01\x01"
    assert respond(b'{"status":"401"}') == ""


@pytest.fixture(scope="module")
def xoauth2_dovecot(token_server):
    """A Dovecot that takes tokens by XOAUTH2 only, as Exchange Online does."""
    with OAuthDovecot(token_server, mechanisms="xoauth2") as server:
        yield server


@pytest.fixture
def bearer_sink(oauth_provider):
    """A relay offering both OAUTHBEARER and XOAUTH2, as Gmail does."""
    with OAuthSmtpSink(oauth_provider, offer=BOTH) as sink:
        yield sink


def imap_logins_after(mailbox: OAuthDovecot, before: int, n: int = 1) -> list[str]:
    """Dovecot's log lines are written by its log process: wait until *n* more token logins are there."""

    def more() -> list[str] | None:
        logins = mailbox.oauth_logins()[before:]
        return logins if len(logins) >= n else None

    return wait_until(more, what="the login log")


def test_imap_logs_in_with_oauthbearer_where_dovecot_offers_it(tmp_path, oauth_mailbox, smtp_sink, oauth_provider):
    client = oauth_mailbox.connect(initial_folder=None)
    try:
        assert {"AUTH=OAUTHBEARER", "AUTH=XOAUTH2"} <= set(client.client.capabilities)
    finally:
        client.logout()
    before = len(oauth_mailbox.oauth_logins())
    service = oauth_service(tmp_path, oauth_mailbox, smtp_sink, oauth_provider)
    try:
        source = service.imap_source()
        assert source is not None
        source.check_login()
    finally:
        service.close()
    assert imap_logins_after(oauth_mailbox, before) == ["OAUTHBEARER"]


def test_imap_logs_in_with_xoauth2_where_only_it_is_offered(tmp_path, xoauth2_dovecot, smtp_sink, oauth_provider):
    client = xoauth2_dovecot.connect(initial_folder=None)
    try:
        assert "AUTH=XOAUTH2" in client.client.capabilities
        assert "AUTH=OAUTHBEARER" not in client.client.capabilities
    finally:
        client.logout()
    service = oauth_service(tmp_path, xoauth2_dovecot, smtp_sink, oauth_provider)
    try:
        source = service.imap_source()
        assert source is not None
        source.poll_once()
    finally:
        service.close()
    assert imap_logins_after(xoauth2_dovecot, 0) == ["XOAUTH2"]


def test_a_refused_bearer_token_on_imap_is_renewed_once(tmp_path, oauth_mailbox, smtp_sink, oauth_provider):
    before = len(oauth_mailbox.oauth_logins())
    service = oauth_service(tmp_path, oauth_mailbox, smtp_sink, oauth_provider)
    try:
        source = service.imap_source()
        assert source is not None
        source.check_login()
        assert oauth_provider.grants == ["client_credentials"]
        oauth_provider.revoke_all()  # the cached token is now refused by Dovecot (its introspection says so)
        source.check_login()
    finally:
        service.close()
    assert oauth_provider.grants == ["client_credentials", "client_credentials"]  # renewed once, not more
    # Two successful logins, both OAUTHBEARER; the refused attempt in between logged no "Login:".
    assert imap_logins_after(oauth_mailbox, before, 2) == ["OAUTHBEARER", "OAUTHBEARER"]


def smtp_transport(tmp_path, mailbox, sink, provider) -> tuple[SmtpTransport, Service]:
    service = oauth_service(tmp_path, mailbox, sink, provider)
    settings = service.settings.smtp
    assert settings is not None
    return SmtpTransport(settings, service.tokens), service


def test_smtp_uses_oauthbearer_where_the_relay_offers_it(tmp_path, oauth_mailbox, bearer_sink, oauth_provider):
    transport, service = smtp_transport(tmp_path, oauth_mailbox, bearer_sink, oauth_provider)
    try:
        transport.check_login()
    finally:
        service.close()
    assert bearer_sink.mechanisms == ["OAUTHBEARER"]
    assert bearer_sink.logins == [(oauth_mailbox.user, True)]


def test_smtp_uses_xoauth2_where_only_it_is_offered(tmp_path, oauth_mailbox, oauth_sink, oauth_provider):
    transport, service = smtp_transport(tmp_path, oauth_mailbox, oauth_sink, oauth_provider)
    try:
        transport.check_login()
    finally:
        service.close()
    assert oauth_sink.mechanisms == ["XOAUTH2"]
    assert oauth_sink.logins == [(oauth_mailbox.user, True)]


def test_a_refused_bearer_token_on_smtp_gets_the_error_reply_and_is_renewed_once(
    tmp_path, oauth_mailbox, bearer_sink, oauth_provider
):
    transport, service = smtp_transport(tmp_path, oauth_mailbox, bearer_sink, oauth_provider)
    try:
        transport.check_login()
        oauth_provider.revoke_all()
        transport.check_login()
    finally:
        service.close()
    assert bearer_sink.mechanisms == ["OAUTHBEARER"] * 3
    assert [ok for _, ok in bearer_sink.logins] == [True, False, True]
    assert bearer_sink.error_replies == [b"\x01"]  # RFC 7628 §3.2.3, then the 535 and one new token
    assert oauth_provider.grants == ["client_credentials", "client_credentials"]


def test_the_draft_in_acknowledgement_out_test_passes_with_oauthbearer_on_both_sides(
    tmp_path, oauth_mailbox, bearer_sink, oauth_provider
):
    before = len(oauth_mailbox.oauth_logins())
    test_a_draft_comes_in_and_is_acknowledged_with_oauth2_logins_on_imap_and_smtp(
        tmp_path, oauth_mailbox, bearer_sink, oauth_provider
    )
    assert set(bearer_sink.mechanisms) == {"OAUTHBEARER"}
    assert set(imap_logins_after(oauth_mailbox, before, 2)) == {"OAUTHBEARER"}
