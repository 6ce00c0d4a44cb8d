"""Authentication-Results is believed only from the trusted server, above every Received line (issue 7 item 1)."""

from __future__ import annotations

import pytest

from intake import authentication
from intake.message import parse

TRUSTED = "mx.council.example"
PASS = f"Authentication-Results: {TRUSTED}; dmarc=pass header.from=council.example"
DKIM_PASS = f"Authentication-Results: {TRUSTED}; dkim=pass header.d=council.example"
FAIL = f"Authentication-Results: {TRUSTED}; dmarc=fail header.from=council.example"
OTHER = "Authentication-Results: relay.example.net; dmarc=pass header.from=council.example"
RECEIVED = "Received: from relay.example.net by mx.council.example; Mon, 02 Nov 2026 09:00:00 +0000"
RECEIVED_EARLIER = "Received: from laptop by relay.example.net; Mon, 02 Nov 2026 08:59:00 +0000"
OWN = (
    "From: Town Clerk <clerk@council.example>",
    "To: smat.info@council.example",
    "Subject: Re: [SMAT-0001] Review draft",
    "Date: Mon, 02 Nov 2026 08:58:00 +0000",
    "Message-ID: <reply@council.example>",
)


def eml(*headers: str) -> bytes:
    """A real reply's bytes: the trace headers given on top, then the sender's own."""
    return ("\r\n".join(headers) + "\r\n\r\nAPPROVE\r\n").encode()


def verdict(raw: bytes, **kwargs: bool) -> authentication.Verdict:
    return authentication.check(parse(raw), TRUSTED, **kwargs)


@pytest.mark.parametrize(
    "headers",
    [
        (PASS, RECEIVED, RECEIVED_EARLIER, *OWN),
        (DKIM_PASS, RECEIVED, *OWN),
        ("Return-Path: <clerk@council.example>", "Delivered-To: smat.info@council.example", PASS, RECEIVED, *OWN),
        (PASS, *OWN),  # no Received at all: nothing stands above it
    ],
    ids=["dmarc", "aligned-dkim", "delivery-headers-above", "no-received"],
)
def test_the_trusted_servers_header_on_top_passes(headers: tuple[str, ...]) -> None:
    result = verdict(eml(*headers))
    assert result.passed, result.reason


@pytest.mark.parametrize(
    "headers, reason",
    [
        ((RECEIVED, PASS, *OWN), "stands below a Received header"),
        ((RECEIVED, RECEIVED_EARLIER, *OWN[:2], PASS, *OWN[2:]), "stands below a Received header"),
        ((RECEIVED, *OWN, PASS), "stands below a Received header"),
        ((RECEIVED, PASS, RECEIVED_EARLIER, *OWN), "stands below a Received header"),
        ((OTHER, RECEIVED, PASS, *OWN), "is from relay.example.net, not mx.council.example"),
        ((FAIL, PASS, RECEIVED, *OWN), "reports no DMARC pass"),
        ((RECEIVED, *OWN), "carries no Authentication-Results"),
    ],
    ids=[
        "forged-just-below-received",
        "forged-among-the-senders-headers",
        "forged-at-the-bottom",
        "forged-between-received-lines",
        "another-server-on-top",
        "only-the-topmost-counts",
        "none",
    ],
)
def test_a_header_the_sender_could_have_written_never_passes(headers: tuple[str, ...], reason: str) -> None:
    result = verdict(eml(*headers))
    assert not result.passed
    assert reason in result.reason


def test_mail_that_did_not_come_through_our_server_never_passes() -> None:
    """The listener or `ingest` take bytes anyone wrote: a header on top proves nothing there."""
    result = verdict(eml(PASS, *OWN), trusted_route=False)
    assert not result.passed
    assert "did not come through our mail server" in result.reason


def test_the_topmost_trace_header_is_read_in_order() -> None:
    msg = parse(eml("Return-Path: <a@b.example>", RECEIVED, PASS, *OWN))
    assert authentication.topmost_trace(msg) == ("received", RECEIVED.split(": ", 1)[1])
    assert authentication.topmost_trace(parse(eml(*OWN))) is None
