"""Did the council's own mail server vouch for the sender? (Authentication-Results, RFC 8601)

A header is believed only when nothing untrusted can have been written above it: the topmost
Authentication-Results header must carry the configured authserv-id AND be the first trace
header of the block, above every Received header. Our MTA prepends it on delivery, so it sits
above the Received lines of every hop; anything below a Received line was in the message when
it reached a server, so the sender (or any relay) may have written it, and it is ignored.

What the council's mail server (MTA) must do for this to mean anything (RFC 8601 §5):
- remove, on receipt, every Authentication-Results header that claims its own authserv-id
  (a sender can write one; check that your DKIM/DMARC milter or a header check does this);
- add its own Authentication-Results as the topmost trace header, above its own Received
  line, and let nothing add a Received line above it on the way to the mailbox (a delivery
  agent that does, Dovecot LMTP's `lmtp_add_received_header` for one, must be told not to);
- be the only way into the mailbox we read.
Check one delivered message: its first trace header must be our server's
Authentication-Results. Where it is not, set no trusted_authserv_id: the reply key alone decides.
Mail that did not come through that server (`smat-intake ingest`, the built-in listener
unless the MTA delivers to it) has no genuine header: its caller passes
`trusted_route=False` and nothing in it passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import authres

from intake.message import InboundMessage


@dataclass(frozen=True)
class Verdict:
    """Whether the trusted server vouched for the sender, and one sentence saying why (not)."""

    passed: bool
    reason: str


def topmost_trace(msg: InboundMessage) -> tuple[str, str] | None:
    """The first trace header of the block, (name, value): Authentication-Results or Received, or None."""
    for name, value in msg.headers:
        if name in ("authentication-results", "received"):
            return name, value
    return None


def _aligned(domain: str, from_domain: str) -> bool:
    """Relaxed DMARC alignment: the same organisational domain, approximated as equal or a subdomain."""
    domain, from_domain = domain.lower().strip("."), from_domain.lower().strip(".")
    return domain == from_domain or from_domain.endswith("." + domain) or domain.endswith("." + from_domain)


def check(msg: InboundMessage, trusted_authserv_id: str, *, trusted_route: bool = True) -> Verdict:
    """Pass if the trusted server's own header says dmarc=pass, or dkim=pass aligned with From.

    `trusted_route` says the message came through the trusted MTA; False (a file, a listener
    the public can reach) fails whatever the headers say.
    """
    if not trusted_route:
        return Verdict(False, "the message did not come through our mail server, so nothing in it is vouched for")
    if not trusted_authserv_id:
        return Verdict(False, "no trusted_authserv_id is configured")
    if msg.sender is None or "@" not in msg.sender.email:
        return Verdict(False, "the message has no From address")
    headers = msg.header_all("authentication-results")
    if not headers:
        return Verdict(False, "the message carries no Authentication-Results from our mail server")
    first = topmost_trace(msg)
    if first is not None and first[0] == "received":
        return Verdict(
            False,
            "the topmost Authentication-Results header stands below a Received header, "
            "so it was in the message before it reached our mail server",
        )
    try:
        top = authres.AuthenticationResultsHeader.parse_value(headers[0])
    except Exception:  # noqa: BLE001 - a malformed header is simply not a pass
        return Verdict(False, "the topmost Authentication-Results header could not be read")
    if (top.authserv_id or "").lower() != trusted_authserv_id.lower():
        return Verdict(
            False, f"the topmost Authentication-Results header is from {top.authserv_id}, not {trusted_authserv_id}"
        )
    from_domain = msg.sender.email.rsplit("@", 1)[1]
    for result in top.results:
        method, outcome = (result.method or "").lower(), (result.result or "").lower()
        props = {(p.type, p.name): (p.value or "") for p in getattr(result, "properties", [])}
        if method == "dmarc" and outcome == "pass":
            header_from = props.get(("header", "from"), from_domain)
            if header_from.lower() == from_domain.lower():
                return Verdict(True, f"dmarc=pass from {top.authserv_id}")
        if method == "dkim" and outcome == "pass":
            signer = props.get(("header", "d")) or props.get(("header", "i"), "").rpartition("@")[2]
            if signer and _aligned(signer, from_domain):
                return Verdict(True, f"dkim=pass for {signer} from {top.authserv_id}")
    return Verdict(False, f"{top.authserv_id} reports no DMARC pass or aligned DKIM pass for {from_domain}")
