"""Sending through Microsoft Graph: the real pipeline and outbox drain against a Graph stand-in.

The stand-in (servers.GraphStandIn) answers as Graph does: 202, 429 with Retry-After, 401 for
a token it does not know, 400 with Graph's error body. Tokens come from a small callable in
place of [oauth2]'s token source, through `make_transport`'s seam.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from servers import GraphStandIn, free_port
from sqlalchemy import select
from support import OUR_ADDRESS, settings_data

from intake.config import ConfigError, from_dict
from intake.delivery.graph import GraphThrottled, GraphTransport, retry_after
from intake.delivery.relay import make_transport
from intake.delivery.transport import PermanentFailure, TemporaryFailure
from intake.service import Service
from intake.store.models import Event, OutboxMessage, utcnow
from intake.vocab import EventKind

REPO = Path(__file__).resolve().parent.parent
DRAFT = (Path(__file__).resolve().parent / "messages" / "plain_draft.eml").read_bytes()
DRAFTER = "jane.doe@example.org"


class Tokens:
    """Stands in for [oauth2]'s TokenSource.token: the cached token, a new one when forced; keeps each call."""

    def __init__(self, current: str = "graph-token", fresh: str = "graph-token") -> None:
        self.current, self.fresh = current, fresh
        self.calls: list[bool] = []

    def __call__(self, force_refresh: bool) -> str:
        self.calls.append(force_refresh)
        if force_refresh:
            self.current = self.fresh
        return self.current


@pytest.fixture
def graph():
    with GraphStandIn() as stand_in:
        yield stand_in


def graph_service(service_for, url: str, graph: GraphStandIn, tokens: Tokens) -> Service:
    """A Service with [graph] pointing at the stand-in, its token from *tokens* in place of [oauth2]'s provider.

    [oauth2] must be there for the service to start (test_graph_oauth.py runs the real provider); its
    token source is never asked here, because the drain's transport takes *tokens* instead.
    """
    unused_provider = {
        "provider": "generic",
        "client_id": "x",
        "client_secret": "never-asked-0123456789",
        "token_url": "http://127.0.0.1:9/token",
    }
    service = service_for(
        url, graph={"user": OUR_ADDRESS, "base_url": graph.base_url, "timeout": 5}, oauth2=unused_provider
    )
    service.drain.transport_factory = lambda: make_transport(service.settings, graph_token=tokens)
    return service


def outbox_rows(service: Service) -> list[OutboxMessage]:
    with service.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def events(service: Service, kind: str) -> list[Event]:
    with service.sessions() as session:
        return list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def take_in_draft(service: Service) -> str:
    outcome = service.ingest(DRAFT, "file")
    assert outcome.classification == "draft" and outcome.ref
    assert outcome.mail_queued == 4  # the acknowledgement and three reviewers
    return outcome.ref


def message(to: str, cc: str = "") -> bytes:
    head = f"From: {OUR_ADDRESS}\r\nTo: {to}\r\n" + (f"Cc: {cc}\r\n" if cc else "")
    return (head + "Subject: [SMAT-2026-0001] test\r\nMessage-ID: <m1@example.org>\r\n\r\nhello\r\n").encode()


# --- the whole way: a draft in, its mail out through Graph --------------------------------


def test_a_drafts_mail_goes_through_graph_byte_for_byte_with_our_message_id(service_for, migrated_url, graph):
    tokens = Tokens()
    service = graph_service(service_for, migrated_url, graph, tokens)
    assert isinstance(service.drain.transport_factory(), GraphTransport)
    ref = take_in_draft(service)

    report = service.deliver()
    assert (report.sent, report.deferred, report.failed, report.waiting, report.problem) == (4, 0, 0, 0, "")
    sent, rows = graph.wait_for(4), outbox_rows(service)
    assert sorted(c.raw for c in sent) == sorted(r.raw for r in rows)  # the MIME we rendered, unchanged
    assert sorted(c.message["Message-ID"] for c in sent) == sorted(f"<{r.message_id}>" for r in rows)
    assert {(c.user, c.token, c.content_type) for c in sent} == {(OUR_ADDRESS, "graph-token", "text/plain")}
    (ack,) = [c.message for c in sent if c.message["X-SMAT-Purpose"] == "acknowledgement"]
    assert ack["To"].addresses[0].addr_spec == DRAFTER and f"[{ref}]" in ack["Subject"]
    assert len(events(service, EventKind.MAIL_SENT)) == 4
    assert tokens.calls == [False] * 4

    again = service.drain.deliver_due(now=utcnow() + timedelta(days=1))
    assert (again.sent, len(graph.calls)) == (0, 4)


def test_a_message_graph_throttles_waits_then_goes_once_with_the_same_message_id(service_for, migrated_url, graph):
    service = graph_service(service_for, migrated_url, graph, Tokens())
    take_in_draft(service)
    graph.answer(
        429, {"Retry-After": "30"}, "ApplicationThrottled", "Application is over its MailboxConcurrency limit."
    )

    first = service.deliver()
    assert (first.sent, first.deferred, first.waiting) == (0, 1, 4)
    assert "Graph asked us to wait 30 s" in first.problem and "ApplicationThrottled" in first.problem
    (throttled,) = graph.calls
    assert throttled.status == 429

    later = service.drain.deliver_due(now=utcnow() + timedelta(hours=2))
    assert (later.sent, later.waiting) == (4, 0)
    ids = [c.message["Message-ID"] for c in graph.sent]
    assert len(ids) == len(set(ids)) == 4
    assert [c.raw for c in graph.sent if c.message["Message-ID"] == throttled.message["Message-ID"]] == [throttled.raw]


def test_an_expired_token_is_refreshed_once_and_the_mail_goes(service_for, migrated_url, graph):
    tokens = Tokens(current="expired-token", fresh="graph-token")
    service = graph_service(service_for, migrated_url, graph, tokens)
    take_in_draft(service)

    report = service.deliver()
    assert (report.sent, report.waiting) == (4, 0)
    assert tokens.calls.count(True) == 1
    assert [(c.status, c.token) for c in graph.calls[:2]] == [(401, "expired-token"), (202, "graph-token")]
    assert len(graph.calls) == 5


def test_a_token_graph_refuses_even_fresh_waits_and_names_the_settings(service_for, migrated_url, graph):
    tokens = Tokens(current="expired-token", fresh="also-refused")
    service = graph_service(service_for, migrated_url, graph, tokens)
    take_in_draft(service)

    report = service.deliver()
    assert (report.sent, report.deferred, report.failed, report.waiting) == (0, 1, 0, 4)
    assert tokens.calls == [False, True]  # refreshed once, not in a loop
    assert "InvalidAuthenticationToken" in report.problem and "check [oauth2]" in report.problem
    assert graph.sent == [] and not events(service, EventKind.MAIL_FAILED)

    graph.tokens.add("also-refused")  # the administrator fixes the app registration
    assert service.drain.deliver_due(now=utcnow() + timedelta(hours=2)).sent == 4


def test_a_message_graph_refuses_fails_for_good_and_is_recorded(service_for, migrated_url, graph):
    service = graph_service(service_for, migrated_url, graph, Tokens())
    ref = take_in_draft(service)
    graph.answer(400, code="ErrorInvalidRecipients", message="At least one recipient is not valid.")

    report = service.deliver()
    assert (report.sent, report.failed, report.waiting) == (3, 1, 0)
    (failed,) = [r for r in outbox_rows(service) if r.status == "failed"]
    assert failed.last_error == (
        f"Microsoft Graph refused the message for {OUR_ADDRESS} "
        "(400 ErrorInvalidRecipients: At least one recipient is not valid.)"
    )
    (event,) = events(service, EventKind.MAIL_FAILED)
    assert "400 ErrorInvalidRecipients: At least one recipient is not valid." in event.detail
    assert service.drain.deliver_due(now=utcnow() + timedelta(days=1)).sent == 0  # not retried
    assert len(graph.calls) == 4 and ref


def test_the_token_is_never_logged_nor_recorded(service_for, migrated_url, graph, caplog):
    caplog.set_level(logging.DEBUG)  # requests' and urllib3's debug lines too
    secret_old, secret_new = "eyJ0eXAi.OLD-token-4711", "eyJ0eXAi.NEW-token-0815"
    tokens = Tokens(current=secret_old, fresh=secret_new)
    service = graph_service(service_for, migrated_url, graph, tokens)
    take_in_draft(service)
    graph.tokens = {secret_new}
    refused = ("InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
    graph.answer(400, code="ErrorAccessDenied", message="Access is denied.")
    graph.answer(401, {}, *refused)
    graph.answer(401, {}, *refused)
    # the first message: 401, refreshed, then 400 for good; the second: refused even fresh, so it waits
    report = service.deliver()

    assert (report.failed, report.deferred, tokens.calls) == (1, 1, [False, True, False, True])
    said = [caplog.text, report.problem]
    said += [r.last_error for r in outbox_rows(service)]
    said += [e.detail for kind in EventKind for e in events(service, kind)]
    for text in said:
        assert secret_old not in text and secret_new not in text and "eyJ0eXAi" not in text


# --- the transport on its own --------------------------------------------------------------


def test_headers_and_envelope_must_name_the_same_people(graph):
    transport = GraphTransport(OUR_ADDRESS, Tokens(), graph.base_url, timeout=5)
    with pytest.raises(PermanentFailure, match="headers do not name jane@example.org"):
        transport.send(OUR_ADDRESS, ["jane@example.org"], message("someone.else@example.org"))
    with pytest.raises(PermanentFailure, match="also name press@example.org"):
        transport.send(OUR_ADDRESS, ["jane@example.org"], message("jane@example.org", cc="press@example.org"))
    assert graph.calls == []  # nothing went anywhere

    assert transport.send(OUR_ADDRESS, ["jane@example.org"], message('"Jane" <Jane@Example.ORG>')) == {}
    transport.close()
    assert len(graph.wait_for(1)) == 1


@pytest.mark.parametrize(
    ("status", "headers", "code", "failure", "says"),
    [
        (503, {}, "ServiceUnavailable", TemporaryFailure, "busy (503 ServiceUnavailable"),
        (429, {"Retry-After": "7"}, "", GraphThrottled, "Graph asked us to wait 7 s"),
        (500, {}, "InternalServerError", TemporaryFailure, "could not take the message now (500"),
        (403, {}, "ErrorAccessDenied", PermanentFailure, "refused the message for smat.info@example.org (403"),
        (404, {}, "ErrorInvalidUser", PermanentFailure, "(404 ErrorInvalidUser"),
    ],
)
def test_graphs_answers_become_wait_or_fail(graph, status, headers, code, failure, says):
    graph.answer(status, headers, code, "It said so." if code else "")
    transport = GraphTransport(OUR_ADDRESS, Tokens(), graph.base_url, timeout=5)
    with pytest.raises(failure) as caught:
        transport.send(OUR_ADDRESS, ["jane@example.org"], message("jane@example.org"))
    transport.close()
    assert says in str(caught.value)
    if status == 429:
        assert caught.value.retry_after == 7


def test_graph_out_of_reach_and_a_failing_token_source_are_temporary(graph):
    nowhere = GraphTransport(OUR_ADDRESS, Tokens(), f"http://127.0.0.1:{free_port()}/v1.0", timeout=2)
    with pytest.raises(TemporaryFailure, match=r"Microsoft Graph at 127\.0\.0\.1:\d+ cannot be reached"):
        nowhere.send(OUR_ADDRESS, ["jane@example.org"], message("jane@example.org"))

    def broken(force_refresh: bool) -> str:
        raise RuntimeError("[oauth2] client_secret_env: Microsoft refused the app's credentials")

    transport = GraphTransport(OUR_ADDRESS, broken, graph.base_url, timeout=5)
    with pytest.raises(TemporaryFailure, match="no access token for Microsoft Graph: .*refused the app's credentials"):
        transport.send(OUR_ADDRESS, ["jane@example.org"], message("jane@example.org"))
    assert graph.calls == []


def test_retry_after_reads_seconds_and_dates():
    assert retry_after("120") == 120
    assert retry_after("") == 0 and retry_after("soon") == 0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # a date gone by: no wait
    assert 0 < retry_after(_http_date(timedelta(minutes=2))) <= 120


def _http_date(ahead: timedelta) -> str:
    from email.utils import format_datetime

    return format_datetime(utcnow() + ahead, usegmt=True)


# --- [graph] in the config -----------------------------------------------------------------


def test_make_transport_wants_a_token_for_graph(tmp_path):
    settings = from_dict(
        settings_data(tmp_path, "sqlite:///x.db", graph={"user": OUR_ADDRESS}), tmp_path / "config.toml"
    )
    assert settings.graph is not None and settings.graph.base_url == "https://graph.microsoft.com/v1.0"
    with pytest.raises(ConfigError, match=r"config\.toml: \[graph\] needs \[oauth2\]"):
        make_transport(settings)
    transport = make_transport(settings, graph_token=Tokens())
    assert isinstance(transport, GraphTransport) and transport.url.endswith(f"/users/{OUR_ADDRESS}/sendMail")


@pytest.mark.parametrize(
    "url", ["http://graph.microsoft.com/v1.0", "ftp://127.0.0.1/v1.0", "graph.microsoft.com", "https://"]
)
def test_graph_base_url_must_be_https_except_to_this_machine(tmp_path, url):
    data = settings_data(tmp_path, "sqlite:///x.db", graph={"user": OUR_ADDRESS, "base_url": url})
    with pytest.raises(ConfigError, match=r"\[graph\] base_url must be an https:// address"):
        from_dict(data, tmp_path / "config.toml")
    for local in ("http://127.0.0.1:8080/v1.0", "http://localhost/v1.0", "https://graph.microsoft.us/v1.0"):
        data["graph"]["base_url"] = local
        assert from_dict(data, tmp_path / "config.toml").graph is not None


def test_the_examples_graph_block_loads_when_uncommented(tmp_path, monkeypatch):
    lines, uncommenting = [], False
    for line in (REPO / "config.example.toml").read_text().splitlines():
        if line == "# [graph]":
            uncommenting = True
        elif not line.startswith("# "):
            uncommenting = False
        lines.append(line[2:] if uncommenting or line.startswith("# secret_env") else line)
    monkeypatch.setenv("SMAT_SECRET", "a-long-enough-secret-for-tests")
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines))
    from intake.config import load

    graph = load(path).graph
    assert graph is not None and graph.user == "smat.info@biggleswadetowncouncil.gov.uk"
    assert (graph.base_url, graph.timeout) == ("https://graph.microsoft.com/v1.0", 30)
