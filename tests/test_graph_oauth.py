"""Graph out with tokens from [oauth2], wired by `Service.build` as an operator configures it: the test
provider issues a Graph-scoped token by the client-credentials grant and the Graph stand-in accepts
only tokens that provider issued; without [oauth2] the service refuses to start (issue 8)."""

from __future__ import annotations

import pytest
from samples import draft
from servers import GraphStandIn, TokenServer
from support import OUR_ADDRESS, REVIEWERS

from intake.errors import ConfigError
from intake.oauth2 import GRAPH_SCOPE

SECRET_ENV = "SMAT_TEST_GRAPH_SECRET"


class IssuedBy:
    """The stand-in's set of good tokens: whatever the provider has issued and not yet expired."""

    def __init__(self, provider: TokenServer) -> None:
        self.provider = provider

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and self.provider.user_of(token) is not None


@pytest.fixture
def graph(oauth_provider):
    with GraphStandIn() as stand_in:
        stand_in.tokens = IssuedBy(oauth_provider)  # type: ignore[assignment]
        yield stand_in


def test_a_drafts_mail_goes_out_through_graph_with_a_graph_scoped_token_from_oauth2(
    service_for, migrated_url, graph, oauth_provider, monkeypatch
):
    monkeypatch.setenv(SECRET_ENV, "app-secret-value-0123")  # TokenServer's default client
    oauth_provider.scopes.clear()  # the provider serves the whole session
    service = service_for(
        migrated_url,
        graph={"user": OUR_ADDRESS, "base_url": graph.base_url, "timeout": 5},
        oauth2={
            "provider": "microsoft",
            "tenant_id": "00000000-0000-0000-0000-000000000000",
            "client_id": "smat-app",
            "client_secret_env": SECRET_ENV,
            "token_url": oauth_provider.token_url,
        },
    )
    service.ingest(draft(subject="Graph fun run"), "smtp")
    report = service.deliver()
    sent = graph.wait_for(1 + len(REVIEWERS))
    assert report.sent == 1 + len(REVIEWERS) and len(sent) == 1 + len(REVIEWERS)
    assert oauth_provider.scopes == [GRAPH_SCOPE]  # one token, asked for Graph's scope, reused for every mail
    assert all(call.user == OUR_ADDRESS for call in sent)


def test_graph_without_oauth2_refuses_to_start_naming_the_section(service_for, migrated_url, graph):
    with pytest.raises(ConfigError, match=r"\[graph\] needs \[oauth2\]"):
        service_for(migrated_url, graph={"user": OUR_ADDRESS, "base_url": graph.base_url})
