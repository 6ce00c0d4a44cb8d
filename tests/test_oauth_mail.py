"""OAuth 2.0 (XOAUTH2) through the whole pipeline, against real servers: a draft comes in over IMAP
and its acknowledgement goes out over SMTP, both logged in with tokens from a test provider that
Dovecot and the SMTP sink check for real. Tokens that expire mid-IDLE are renewed with nothing
lost, a refused app secret is one clear sentence while the service stays up, no secret or token
reaches a log or `show`, and `smat-intake status` proves the logins without touching mail."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest
from samples import draft
from support import REVIEWERS, TEMPLATES, LogRecorder, migrated, settings_data, to_toml, wait_until
from test_run import FAST, Running

from intake import config
from intake.cli import main
from intake.service import Service
from intake.vocab import Purpose

SECRET_ENV = "SMAT_TEST_OAUTH_SECRET"
APP_SECRET = "app-secret-value-0123"  # servers.TokenServer's default client
REFUSED = (
    401,
    {
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
        "request is the client secret value, not the client secret ID.\r\nTrace ID: 1234",
    },
)


@pytest.fixture(autouse=True)
def app_secret(monkeypatch):
    monkeypatch.setenv(SECRET_ENV, APP_SECRET)


def oauth_data(tmp_path: Path, url: str, mailbox: Any, sink: Any, provider: Any) -> dict[str, Any]:
    """Our test desk with [imap] and [smtp] logging in by OAuth 2.0 (no password anywhere)."""
    data = settings_data(tmp_path, url, imap=mailbox, smtp=sink)
    data["imap"].pop("password")
    data["imap"]["auth"] = "oauth2"
    data["smtp"].update(auth="oauth2", username=mailbox.user)
    data["oauth2"] = {
        "provider": "microsoft",
        "tenant_id": "00000000-0000-0000-0000-000000000000",
        "client_id": "smat-app",
        "client_secret_env": SECRET_ENV,
        "token_url": provider.token_url,  # the test provider, reached by the plain client-credentials POST
    }
    data["people"] = data.pop("people")
    return data


def oauth_service(tmp_path: Path, mailbox: Any, sink: Any, provider: Any) -> Service:
    url = migrated(f"sqlite:///{tmp_path}/smat.db")
    return Service.build(
        config.from_dict(oauth_data(tmp_path, url, mailbox, sink, provider), tmp_path / "config.toml"),
        template_cache=TEMPLATES,
    )


def acknowledgements(sink: Any) -> list[Any]:
    return [c for c in sink.captured if c.message["X-SMAT-Purpose"] == Purpose.ACKNOWLEDGEMENT]


def test_a_draft_comes_in_and_is_acknowledged_with_oauth2_logins_on_imap_and_smtp(
    tmp_path, oauth_mailbox, oauth_sink, oauth_provider
):
    service = oauth_service(tmp_path, oauth_mailbox, oauth_sink, oauth_provider)
    try:
        source = service.imap_source()
        assert source is not None
        source.poll_once()  # the first look sets the baseline: older mail is left alone
        oauth_mailbox.append(draft(subject="Fun run on Sunday"))
        report = source.poll_once()
        assert report.taken == 1
        service.deliver()
        captured = oauth_sink.wait_for(1 + len(REVIEWERS))
    finally:
        service.close()
    assert [c.rcpt_tos for c in acknowledgements(oauth_sink)] == [["jane@example.com"]]
    assert any("Fun run on Sunday" in c.message["Subject"] for c in captured)
    assert oauth_sink.logins and all(ok for _, ok in oauth_sink.logins)
    assert {user for user, _ in oauth_sink.logins} == {oauth_mailbox.user}
    # One token served both IMAP passes and the SMTP login: it is cached, not fetched per login.
    assert oauth_provider.grants == ["client_credentials"]
    assert oauth_mailbox.uids("Processed") != []


@pytest.fixture
def running_oauth(tmp_path, oauth_mailbox, oauth_sink, oauth_provider):
    handles: list[Running] = []

    def start() -> Running:
        log = LogRecorder(f"test-oauth-{len(handles)}-{tmp_path.name}")
        service = oauth_service(tmp_path, oauth_mailbox, oauth_sink, oauth_provider)
        service.log = log.logger
        service.imap_timing = dict(FAST)
        handle = Running(service, log, delivery_process=False)  # the test shortens the linger as it runs
        handles.append(handle)
        handle.thread.start()
        return handle

    yield start
    for handle in handles:
        handle.stop.set()
        handle.thread.join(timeout=20)
        handle.service.close()
        handle.log.close()


def test_a_token_that_expires_during_idle_is_renewed_at_reconnect_and_no_mail_is_lost(
    running_oauth, oauth_mailbox, oauth_sink, oauth_provider
):
    handle = running_oauth()
    handle.service.linger_seconds = 0.2  # the relay connection closes soon after each draft's mail
    handle.ready()
    assert handle.log.has("(IDLE)")
    # Every token so far expires, and the server ends the session, as Exchange does when a token runs out.
    oauth_provider.revoke_all()
    subprocess.run(
        ["doveadm", "-c", str(oauth_mailbox.conf), "kick", oauth_mailbox.user],
        check=True,
        capture_output=True,
        timeout=10,
    )
    oauth_mailbox.append(draft(subject="Sent while the token ran out"))
    captured = oauth_sink.wait_for(1 + len(REVIEWERS), timeout=30)
    assert any("Sent while the token ran out" in c.message["Subject"] for c in captured)
    assert handle.log.has("refused the OAuth 2.0 token; logging in again with a new one")
    assert oauth_provider.grants.count("client_credentials") >= 2

    # The SMTP side: once that connection is closed, the cached token expires again; at the next
    # connection the relay's 535 leads to one new token and the send.
    with oauth_sink._cond:
        assert oauth_sink._cond.wait_for(lambda: oauth_sink.quits >= 1, timeout=10)
    oauth_provider.revoke_all()
    refused_before = sum(1 for _, ok in oauth_sink.logins if not ok)
    oauth_mailbox.append(draft(subject="Second draft, another expiry"))
    captured = oauth_sink.wait_for(2 * (1 + len(REVIEWERS)), timeout=30)
    assert any("Second draft" in c.message["Subject"] for c in captured)
    assert sum(1 for _, ok in oauth_sink.logins if not ok) > refused_before
    assert oauth_sink.logins[-1][1] is True
    assert handle.thread.is_alive() and handle.error is None


def test_a_refused_app_secret_is_one_clear_sentence_retried_while_the_service_stays_up(
    running_oauth, oauth_mailbox, oauth_sink, oauth_provider
):
    oauth_provider.token_failure = REFUSED
    handle = running_oauth()
    wait_until(lambda: oauth_provider.grants.count("client_credentials") >= 3, what="the token to be asked again")
    errors = [m for m in handle.log.messages if "AADSTS7000215" in m]
    assert errors, handle.log.messages
    sentence = errors[0]
    assert "\n" not in sentence
    assert "config.toml: [oauth2] client_secret_env: OAuth" not in sentence  # the provider is named, not "OAuth"
    assert "[oauth2] client_secret_env" in sentence and "check the secret" in sentence
    assert APP_SECRET not in sentence
    assert handle.thread.is_alive() and handle.error is None

    oauth_provider.token_failure = None  # the IT supplier puts the right secret in place
    handle.ready()
    oauth_mailbox.append(draft(subject="After the secret was fixed"))
    captured = oauth_sink.wait_for(1 + len(REVIEWERS), timeout=30)
    assert any("After the secret was fixed" in c.message["Subject"] for c in captured)


def write_oauth_config(tmp_path: Path, mailbox: Any, sink: Any, provider: Any, migrate: bool = True) -> Path:
    url = f"sqlite:///{tmp_path}/smat.db"
    if migrate:
        migrated(url)
    path = tmp_path / "config.toml"
    path.write_text(to_toml(oauth_data(tmp_path, url, mailbox, sink, provider)), encoding="utf-8")
    return path


def test_no_secret_or_token_reaches_the_logs_show_or_status(
    tmp_path, oauth_mailbox, oauth_sink, oauth_provider, caplog, capsys
):
    caplog.set_level(logging.DEBUG)
    path = write_oauth_config(tmp_path, oauth_mailbox, oauth_sink, oauth_provider)
    assert main(["--config", str(path), "-v", "poll", "--once"]) == 0
    oauth_mailbox.append(draft(subject="Quiet tokens"))
    assert main(["--config", str(path), "-v", "poll", "--once"]) == 0
    oauth_sink.wait_for(1 + len(REVIEWERS))
    ref = acknowledgements(oauth_sink)[0].message["Subject"].split("[", 1)[1].split("]", 1)[0]
    assert main(["--config", str(path), "show", ref]) == 0
    assert main(["--config", str(path), "show", ref, "--json"]) == 0
    assert main(["--config", str(path), "status"]) == 0
    oauth_provider.revoke_all()
    oauth_provider.token_failure = REFUSED
    assert main(["--config", str(path), "-v", "status"]) == 1  # errors too keep the secret and tokens out
    out = capsys.readouterr()
    settings = config.load(path)
    service = Service.build(settings, template_cache=TEMPLATES)
    service.close()
    seen = "\n".join([out.out, out.err, caplog.text, repr(settings), repr(service.tokens), repr(service)])
    assert "Quiet tokens" in out.out and "AADSTS7000215" in out.err  # the output was really captured
    assert oauth_provider.tokens, "the provider issued tokens"
    assert APP_SECRET not in seen
    for token in oauth_provider.tokens:
        assert token not in seen
        assert token[:40] not in seen  # not even a prefix


def test_status_proves_the_logins_without_touching_mail(tmp_path, oauth_mailbox, oauth_sink, oauth_provider, capsys):
    oauth_mailbox.append(draft(subject="Waiting in the inbox"))
    before = oauth_mailbox.uids()
    path = write_oauth_config(tmp_path, oauth_mailbox, oauth_sink, oauth_provider)
    assert main(["--config", str(path), "status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ok  database:")
    assert any(line.startswith(f"ok  mailbox {oauth_mailbox.user}") and "OAuth 2.0" in line for line in out)
    assert any(line.startswith("ok  relay ") and "OAuth 2.0" in line for line in out)
    assert oauth_mailbox.uids() == before
    assert "Processed" not in oauth_mailbox.folders()  # status created nothing
    assert oauth_sink.captured == []
    assert [ok for _, ok in oauth_sink.logins] == [True]


def test_status_names_each_problem_on_its_own_line(tmp_path, oauth_mailbox, oauth_sink, oauth_provider, capsys):
    path = write_oauth_config(tmp_path, oauth_mailbox, oauth_sink, oauth_provider, migrate=False)
    oauth_provider.token_failure = REFUSED
    assert main(["--config", str(path), "status"]) == 1
    err = capsys.readouterr().err.splitlines()
    problems = [line for line in err if line.startswith("PROBLEM")]
    assert len(problems) == 3, err
    assert problems[0].startswith("PROBLEM  database:")
    assert all("[oauth2] client_secret_env" in line for line in problems[1:])


def test_status_fails_when_the_server_refuses_even_a_new_token(
    tmp_path, oauth_mailbox, oauth_sink, oauth_provider, capsys
):
    data_path = write_oauth_config(tmp_path, oauth_mailbox, oauth_sink, oauth_provider)
    # The app is granted another mailbox than the one configured: every token is for the wrong user.
    oauth_provider.clients["smat-app"] = (APP_SECRET, "someone.else@example.org")
    try:
        assert main(["--config", str(data_path), "status"]) == 1
    finally:
        oauth_provider.clients["smat-app"] = (APP_SECRET, oauth_mailbox.user)
    err = capsys.readouterr().err
    assert "refused the OAuth 2.0 login for smat.info@example.org even with a new token" in err
    assert "IMAP.AccessAsApp" in err and "SMTP.SendAsApp" in err
