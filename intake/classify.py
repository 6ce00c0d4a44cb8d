"""What a message is: a reply to us, automatic mail never to be answered, or a new submission.

Rules decide, callers act: these functions only read the message and say why.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from intake.message import InboundMessage

DRAFT, REPORT, ENQUIRY = "draft", "report", "enquiry"
REPLY, AUTOMATIC, OWN = "reply", "automatic", "own"

_SUBJECT_KIND = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|tr)\s*:\s*)*(?P<word>report|reporting|question|enquiry|inquiry)\b\s*[:\-\u2013\u2014]",
    re.IGNORECASE,
)
_KIND_OF_WORD = {"report": REPORT, "reporting": REPORT, "question": ENQUIRY, "enquiry": ENQUIRY, "inquiry": ENQUIRY}

# Subjects of out-of-office and delivery mail, compared case- and accent-blind (see _folded).
_AUTO_SUBJECTS = (
    r"auto(matic)?[ -]?(reply|response)",
    r"autoreply",
    r"out of (the )?office",
    r"away from (my|the) office",
    r"undeliverable",
    r"undelivered mail",
    r"delivery status notification",
    r"mail delivery (failed|subsystem)",
    r"returned mail",
    r"abwesenheitsnotiz",  # German
    r"automatische antwort",
    r"reponse automatique",  # French
    r"absence du bureau",
    r"respuesta automatica",  # Spanish
    r"fuera de la oficina",
    r"risposta automatica",  # Italian
    r"fuori sede",
    r"automatisch antwoord",  # Dutch
    r"afwezigheidsbericht",
    r"autosvar",  # Danish, Norwegian, Swedish
    r"resposta automatica",  # Portuguese
    r"automaattinen vastaus",  # Finnish
    r"automatyczna odpowiedz",  # Polish
)
_AUTO_SUBJECT = re.compile(r"^\s*(" + "|".join(_AUTO_SUBJECTS) + r")\b")
_MACHINE_SENDERS = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|auto-?reply|autoresponder)([+\-.].*)?$",
    re.IGNORECASE,
)
_LOOP_HEADER = "x-smat-purpose"  # set on everything we send (render.py)
# The form of render.new_message_id: staff who share our domain write ids of their own form.
_OUR_ID = re.compile(r"[0-9a-f]{32}\.smat@[^@\s]+")
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


def _folded(text: str) -> str:
    """Text compared case- and accent-blind: "Réponse" is "reponse"."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def automatic_reason(msg: InboundMessage) -> str | None:
    """Why this message was sent by a machine (auto-reply, bounce, list), or None for a person."""
    auto = (msg.header("auto-submitted") or "").strip().lower()
    if auto and auto.split(";", 1)[0].split("(", 1)[0].strip() != "no":
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
    if _AUTO_SUBJECT.match(_folded(msg.subject)):
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
    return loop_reason(msg, our_domain) is not None


def loop_reason(msg: InboundMessage, our_domain: str) -> str | None:
    """Why this is mail we sent, whoever it now claims to be from (a redirect, a naive forwarder); else None."""
    if msg.header(_LOOP_HEADER) is not None:
        return "it carries our own X-SMAT-Purpose header (a loop)"
    message_id = (msg.message_id or "").strip().strip("<>").lower()
    if our_domain and _OUR_ID.fullmatch(message_id) and message_id.endswith("@" + our_domain.lower()):
        return f"its Message-ID is one of ours on {our_domain} (a loop)"
    return None


def classify(msg: InboundMessage, our_address: str, our_domain: str, replies_to_item: bool) -> Classification:
    """Put the rules in order: our own mail, then machines, then replies, then new submissions."""
    if is_own_mail(msg, our_address, our_domain):
        return Classification(OWN, "our own mail came back")
    reason = loop_reason(msg, our_domain) or automatic_reason(msg)
    if reason:
        return Classification(AUTOMATIC, reason)
    if replies_to_item:
        return Classification(REPLY, "a reply to mail we sent about an item")
    kind, why = submission_kind(msg.subject)
    return Classification(kind, why)
