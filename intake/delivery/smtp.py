"""Delivery through an SMTP relay (ssl, starttls or none; login if configured)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence

from intake.config import Smtp
from intake.delivery.transport import PermanentFailure, TemporaryFailure


class SmtpTransport:
    """One connection reused for a batch; reconnects once when the relay has dropped it.

    Each outgoing message has one recipient, so a 4xx for "some recipients" cannot leave
    part of a message undelivered; recipients refused one by one are returned and recorded.
    """

    def __init__(self, settings: Smtp) -> None:
        self.settings = settings
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
            if s.username:
                conn.login(s.username, s.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise TemporaryFailure(f"{where} refused our login ({exc.smtp_code} {_text(exc.smtp_error)})") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"{where} cannot be reached: {exc}") from exc
        return conn

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


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
