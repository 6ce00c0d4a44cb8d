"""Delivery through a real relay (aiosmtpd): TLS, STARTTLS and AUTH with a certificate made here,
and a connection the relay dropped while idle is made again instead of failing the message."""

from __future__ import annotations

import selectors
import socket
import ssl
from pathlib import Path

import pytest
from servers import SmtpSink
from support import self_signed_certificate, settings_for, wait_until

from intake.delivery.smtp import SmtpTransport
from intake.delivery.transport import TemporaryFailure

USER, PASSWORD = "smat.info", "relay-password"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key."""
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trusted(certificate, monkeypatch) -> ssl.SSLContext:
    """The server's TLS context; the client trusts the certificate as if a CA had signed it."""
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # read by ssl.create_default_context()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class Logins:
    """An aiosmtpd authenticator that accepts one user and keeps every attempt."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, str]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):  # noqa: ANN001 - aiosmtpd's signature
        from aiosmtpd.smtp import AuthResult

        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.attempts.append((login, password))
        return AuthResult(success=(login, password) == (USER, PASSWORD), handled=False)  # False: answer 535


def transport(tmp_path: Path, sink: SmtpSink, **smtp: object) -> SmtpTransport:
    """An SmtpTransport for *sink*, configured as [smtp] with the given keys."""
    settings = settings_for(
        tmp_path, f"sqlite:///{tmp_path}/smat.db", smtp=sink, overrides={"smtp": {"timeout": 5, **smtp}}
    )
    assert settings.smtp is not None
    return SmtpTransport(settings.smtp)


def send(relay: SmtpTransport, to: str = "jane@example.com") -> dict[str, str]:
    raw = f"From: smat.info@example.org\r\nTo: {to}\r\nSubject: Your draft\r\n\r\nThank you.\r\n".encode()
    return relay.send("smat.info@example.org", [to], raw)


def test_implicit_tls_delivers_over_a_verified_connection(tmp_path, trusted):
    with SmtpSink(ssl_context=trusted) as sink:
        relay = transport(tmp_path, sink, security="ssl")
        assert send(relay) == {}
        relay.close()
        assert [c.rcpt_tos for c in sink.wait_for(1)] == [["jane@example.com"]]


def test_starttls_and_auth_deliver_when_the_relay_requires_both(tmp_path, trusted):
    logins = Logins()
    options = {"tls_context": trusted, "require_starttls": True, "authenticator": logins, "auth_required": True}
    with SmtpSink(**options) as sink:
        relay = transport(tmp_path, sink, security="starttls", username=USER, password=PASSWORD)
        assert send(relay) == {}
        relay.close()
        assert len(sink.wait_for(1)) == 1
    assert logins.attempts == [(USER, PASSWORD)]


def test_a_wrong_password_is_a_temporary_failure_that_names_the_login(tmp_path, trusted):
    logins = Logins()
    options = {"tls_context": trusted, "require_starttls": True, "authenticator": logins, "auth_required": True}
    with SmtpSink(**options) as sink:
        relay = transport(tmp_path, sink, security="starttls", username=USER, password="wrong")
        with pytest.raises(TemporaryFailure, match="refused our login"):
            send(relay)
        assert sink.captured == []
    assert logins.attempts and set(logins.attempts) == {(USER, "wrong")}  # smtplib tries PLAIN, then LOGIN


def test_a_certificate_nobody_vouches_for_is_refused(tmp_path, certificate):
    cert, key = certificate  # SSL_CERT_FILE not set: the system's CAs do not know this certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with SmtpSink(tls_context=context, require_starttls=True) as sink:
        relay = transport(tmp_path, sink, security="starttls")
        with pytest.raises(TemporaryFailure, match="CERTIFICATE_VERIFY_FAILED"):
            send(relay)
        assert sink.captured == []


def closed_by_peer(sock: socket.socket) -> bool:
    """True once the other end has closed the connection (readable, and nothing to read)."""
    with selectors.DefaultSelector() as waiting:
        waiting.register(sock, selectors.EVENT_READ)
        if not waiting.select(0):
            return False
    return sock.recv(1, socket.MSG_PEEK) == b""


def test_a_connection_the_relay_dropped_while_idle_is_made_again(tmp_path):
    with SmtpSink(timeout=0.3) as sink:  # the relay hangs up after 0.3 s of silence
        relay = transport(tmp_path, sink)
        assert send(relay, "first@example.com") == {}
        kept = relay._conn
        assert kept is not None and kept.sock is not None
        wait_until(lambda: closed_by_peer(kept.sock), timeout=10, what="the relay to drop the idle connection")

        assert send(relay, "second@example.com") == {}  # the same batch: reconnects once, no failure
        relay.close()
        assert [c.rcpt_tos for c in sink.wait_for(2)] == [["first@example.com"], ["second@example.com"]]
