"""What a message is: a reply to us, automatic mail never to be answered, or a new submission.

Rules decide, callers act: these functions only read the message and say why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from intake.message import InboundMessage

DRAFT, REPORT, ENQUIRY = "draft", "report", "enquiry"
REPLY, AUTOMATIC, OWN = "reply", "automatic", "own"

_SUBJECT_KIND = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|tr)\s*:\s*)*(?P<word>report|reporting|question|enquiry|inquiry)\b\s*[:\-\u2013\u2014]",
    re.IGNORECASE,
)
_KIND_OF_WORD = {"report": REPORT, "reporting": REPORT, "question": ENQUIRY, "enquiry": ENQUIRY, "inquiry": ENQUIRY}

_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response)|autoreply|out of (the )?office|undeliverable|undelivered mail|"
    r"delivery status notification|mail delivery (failed|subsystem)|returned mail|away from (my|the) office)\b",
    re.IGNORECASE,
)
_MACHINE_SENDERS = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|auto-?reply|autoresponder)([+\-.].*)?$",
    re.IGNORECASE,
)
_LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post", "list-help", "mailing-list")


@dataclass(frozen=True)
class Classification:
    """The verdict on one message and the reason for it, kept with the message."""

    kind: str
    reason: str

    @property
    def is_submission(self) -> bool:
        return self.kind in (DRAFT, REPORT, ENQUIRY)

    @property
    def may_be_answered(self) -> bool:
        """Only new submissions from people get an automatic answer (RFC 3834)."""
        return self.is_submission


def automatic_reason(msg: InboundMessage) -> str | None:
    """Why this message was sent by a machine (auto-reply, bounce, list), or None for a person."""
    auto = (msg.header("auto-submitted") or "").strip().lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    content_type = (msg.header("content-type") or "").lower()
    if content_type.startswith("multipart/report"):
        return "a delivery or read report (multipart/report)"
    return_path = msg.header("return-path")
    if return_path is not None and return_path.strip() in ("<>", ""):
        return "an empty Return-Path (a bounce)"
    if msg.sender is not None:
        local = msg.sender.email.rsplit("@", 1)[0]
        if _MACHINE_SENDERS.match(local):
            return f"sent by {msg.sender.email}, a machine address"
    precedence = (msg.header("precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in _LIST_HEADERS:
        if msg.header(name) is not None:
            return f"mailing-list mail ({name})"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponse", "x-auto-reply"):
        if msg.header(name) is not None:
            return f"an auto-reply ({name})"
    suppress = (msg.header("x-auto-response-suppress") or "").lower()
    if "oof" in suppress or "all" in suppress.split(","):
        return f"X-Auto-Response-Suppress: {suppress}"
    if _AUTO_SUBJECT.match(msg.subject):
        return f'an automatic subject ("{msg.subject[:60]}")'
    return None


def submission_kind(subject: str) -> tuple[str, str]:
    """Draft, report or enquiry from the subject; a draft unless it plainly says otherwise."""
    match = _SUBJECT_KIND.match(subject)
    if match:
        word = match["word"]
        return _KIND_OF_WORD[word.lower()], f'the subject starts with "{word}:"'
    return DRAFT, "a new message (drafts are the default)"


def is_own_mail(msg: InboundMessage, our_address: str, our_domain: str) -> bool:
    """Our own mail coming back: from our address and bearing our purpose header or Message-ID."""
    if msg.sender is None or msg.sender.email.lower() != our_address.lower():
        return False
    ours = msg.message_id is not None and msg.message_id.lower().endswith("@" + our_domain)
    return ours or msg.header("x-smat-purpose") is not None


def classify(msg: InboundMessage, our_address: str, our_domain: str, replies_to_item: bool) -> Classification:
    """Put the rules in order: our own mail, then machines, then replies, then new submissions."""
    if is_own_mail(msg, our_address, our_domain):
        return Classification(OWN, "our own mail came back")
    reason = automatic_reason(msg)
    if reason:
        return Classification(AUTOMATIC, reason)
    if replies_to_item:
        return Classification(REPLY, "a reply to mail we sent about an item")
    kind, why = submission_kind(msg.subject)
    return Classification(kind, why)
