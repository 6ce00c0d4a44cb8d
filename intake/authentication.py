"""Did the council's own mail server vouch for the sender? (Authentication-Results, RFC 8601)

Only the topmost Authentication-Results header counts, and only if its authserv-id is the
one configured: that is the header our trusted MTA added. Anything further down could have
been written by the sender, so it is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import authres

from intake.message import InboundMessage


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str


def _aligned(domain: str, from_domain: str) -> bool:
    """Relaxed DMARC alignment: the same organisational domain, approximated as equal or a subdomain."""
    domain, from_domain = domain.lower().strip("."), from_domain.lower().strip(".")
    return domain == from_domain or from_domain.endswith("." + domain) or domain.endswith("." + from_domain)


def check(msg: InboundMessage, trusted_authserv_id: str) -> Verdict:
    """Pass if the trusted server's own header says dmarc=pass, or dkim=pass aligned with From."""
    if not trusted_authserv_id:
        return Verdict(False, "no trusted_authserv_id is configured")
    if msg.sender is None or "@" not in msg.sender.email:
        return Verdict(False, "the message has no From address")
    headers = msg.header_all("authentication-results")
    if not headers:
        return Verdict(False, "the message carries no Authentication-Results from our mail server")
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
