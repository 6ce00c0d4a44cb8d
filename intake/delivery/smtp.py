"""Delivery through an SMTP relay (ssl, starttls or none; a password login, or AUTH with an OAuth 2.0 token:
OAUTHBEARER where the relay offers it, else XOAUTH2)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence

from intake.config import Smtp
from intake.delivery.transport import PermanentFailure, TemporaryFailure
from intake.errors import IntakeError
from intake.oauth2 import TokenSource, sasl_mechanism, sasl_responder


class SmtpTransport:
    """One connection reused for a batch; reconnects once when the relay has dropped it.

    Each outgoing message has one recipient, so a 4xx for "some recipients" cannot leave
    part of a message undelivered; recipients refused one by one are returned and recorded.
    """

    def __init__(self, settings: Smtp, tokens: TokenSource | None = None) -> None:
        self.settings = settings
        self.tokens = tokens  # [smtp] auth = "oauth2": where access tokens come from
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        where = f"the SMTP relay {s.host}:{s.port}"
        try:
            if s.security == "ssl":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    conn.starttls(context=ssl.create_default_context())
            if s.auth == "oauth2":
                self._oauth2(conn)
            elif s.username:
                conn.login(s.username, s.password)
        except smtplib.SMTPAuthenticationError as exc:
            advice = (
                "; check [smtp] username and that the app may send as this mailbox (SMTP.SendAsApp, SMTP AUTH "
                "enabled for the mailbox, or Google's domain-wide delegation)"
                if s.auth == "oauth2"
                else ""
            )
            raise TemporaryFailure(
                f"{where} refused our login ({exc.smtp_code} {_text(exc.smtp_error)}){advice}"
            ) from exc
        except IntakeError as exc:  # no token: the provider refused us or is down, said in one sentence
            raise TemporaryFailure(str(exc)) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"{where} cannot be reached: {exc}") from exc
        return conn

    def check_login(self) -> None:
        """EHLO, STARTTLS and AUTH as configured, then QUIT: sends nothing (`smat-intake status`); TemporaryFailure."""
        conn = self._connect()
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            pass

    def _oauth2(self, conn: smtplib.SMTP) -> None:
        """AUTH OAUTHBEARER or XOAUTH2; a refused token (expired or revoked early) is renewed once and tried again."""
        s = self.settings
        if self.tokens is None:
            raise IntakeError(f'[smtp] auth = "oauth2" but no token source was given for {s.host}')
        try:
            oauth_login(conn, s.username, self.tokens.token(), s.host, s.port)
        except smtplib.SMTPAuthenticationError:
            oauth_login(conn, s.username, self.tokens.token(force_refresh=True), s.host, s.port)

    def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> dict[str, str]:
        reused = self._conn is not None
        if self._conn is None:
            self._conn = self._connect()
        try:
            try:
                refused = self._conn.sendmail(mail_from, list(recipients), raw)
            except smtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                # The relay closed an idle connection we kept for the batch: one fresh try.
                self.close()
                self._conn = self._connect()
                refused = self._conn.sendmail(mail_from, list(recipients), raw)
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            codes = {rcpt: f"{code} {_text(text)}" for rcpt, (code, text) in exc.recipients.items()}
            if all(code >= 500 for code, _ in exc.recipients.values()):
                raise PermanentFailure(f"every recipient was refused: {codes}") from exc
            raise TemporaryFailure(f"recipients refused for now: {codes}") from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            message = f"the relay said {exc.smtp_code} {_text(exc.smtp_error)}"
            if 400 <= exc.smtp_code < 500:
                raise TemporaryFailure(message) from exc
            raise PermanentFailure(message) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise TemporaryFailure(
                f"the connection to {self.settings.host}:{self.settings.port} failed: {exc}"
            ) from exc
        return {rcpt: f"{code} {_text(text)}" for rcpt, (code, text) in refused.items()}

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._conn = None


def oauth_login(conn: smtplib.SMTP, user: str, token: str, host: str, port: int) -> str:
    """AUTH with the token in the initial response: OAUTHBEARER where EHLO offers it, else XOAUTH2; the mechanism.

    An error challenge (334 with JSON) gets the mechanism's answer, so the server ends with 535
    and smtplib raises SMTPAuthenticationError.
    """
    conn.ehlo_or_helo_if_needed()
    if "auth" not in conn.esmtp_features:
        raise smtplib.SMTPNotSupportedError("the relay offers no AUTH")
    mechanism = sasl_mechanism(conn.esmtp_features["auth"].split())
    conn.auth(mechanism, sasl_responder(mechanism, user, token, host, port), initial_response_ok=True)
    return mechanism


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
