"""A SMAT member's reply -> the command on its first line: only the text written now counts.

Pure: no network, no database, no files.  Quoted text is found by quotequail (attribution
lines such as "On ... wrote:" in several languages, Outlook's "From:/Sent:" header block,
"-----Original Message-----" and other forward separators, "> " quote blocks before or after
the new text); our own rules add what it does not do: the quote containers that HTML mail
clients mark (Gmail, Outlook, Apple, Yahoo, Thunderbird), signatures ("-- ", "Sent from my
iPhone"), and attribution lines that it misses.  The review request we send lists every
command, so a reply whose command is only in the quoted request must never count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import inscriptis
import lxml.html
import quotequail

from intake.commands import Registry, default_registry
from intake.message import InboundMessage

__all__ = ["Command", "new_text", "read_command"]


@dataclass(frozen=True)
class Command:
    """A command read from the start of a reply's new text."""

    verb: str  # upper-case canonical verb, e.g. "APPROVE"
    argument: str  # the rest of the first line, without leading punctuation ("" if none)
    body: str  # the lines after the first line (EDIT's new post text), stripped ("" if none)


# --------------------------------------------------------------------------- reading the command

# Leading markup some clients add (*bold*, _underline_, an opening quote) before the first word.
_LEAD = re.compile(r"^[\s*_~\"'\u2018\u201c]*")
_WORD = re.compile(r"[^\W\d_]+")
# What may separate the verb from its argument: "Approved!", "approve.", "APPROVE:", "Reject - reason".
_SEPARATORS = re.compile(r"^[\s.,:;!?*_~=|\-\u2010-\u2015]+")


def read_command(text: str, registry: Registry | None = None) -> Command | None:
    """The command at the start of the new text; None when the first word is not one of the registry's spellings."""
    spellings = (registry if registry is not None else default_registry()).spellings
    text = _normalise(text).strip()
    if not text:
        return None
    first, _, rest = text.partition("\n")
    first = _LEAD.sub("", first, count=1)
    word = _WORD.match(first)
    if word is None:
        return None
    verb = spellings.get(word.group().upper())
    if verb is None:
        return None
    after = first[word.end() :]
    if after and (after[0].isalnum() or after[0] in "'\u2019"):
        return None  # "Approver", "Approve's": not the word itself
    argument = _SEPARATORS.sub("", after).strip()
    return Command(verb=verb, argument=argument, body=rest.strip())


# --------------------------------------------------------------------------- new text


def new_text(msg: InboundMessage) -> str:
    """Only what the replier wrote now: quotes, attributions, forwarded review request and signatures cut away."""
    text = msg.text
    if msg.text_from_html and msg.html:
        pruned = _html_new_text(msg.html)
        if pruned is not None:
            text = pruned
    return _text_new_text(_normalise(text))


def _text_new_text(text: str) -> str:
    """The new text of a plain-text reply, top-posted or bottom-posted."""
    text = _strip_lines(text)
    unwrapped = quotequail.unwrap(text)
    if unwrapped is not None and _is_real_split(unwrapped):
        top = unwrapped.get("text_top", "")
        bottom = unwrapped.get("text_bottom", "")
        # Top-posted: the new text is above the quote.  Bottom-posted (the quote first, as
        # Thunderbird does): it is below, and may hold another quote in turn.
        text = top if top.strip() else (_text_new_text(bottom) if bottom.strip() else "")
    text = _drop_leading_quote(text)
    text = _cut_at_markers(text)
    return _strip_lines(text)


def _is_real_split(unwrapped: dict[str, str]) -> bool:
    """Whether quotequail found a quote, not two header-like lines in the new text ("Date: Sunday")."""
    return unwrapped.get("type") != "forward" or "from" in unwrapped


def _drop_leading_quote(text: str) -> str:
    """A short "> " quote at the very top (too short for quotequail) is not new text."""
    lines = text.split("\n")
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].lstrip().startswith(">")):
        start += 1
    return "\n".join(lines[start:]) if any(line.lstrip().startswith(">") for line in lines[:start]) else text


# Lines from which everything is signature or quoted mail.
_SIGNATURE = re.compile(r"^--\s*$")
_MOBILE = re.compile(
    r"^(sent from (my|yahoo|outlook|mail for|aol|the all new aol|samsung|proton)|sent with (proton|spark|blackberry)"
    r"|get outlook for )",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^(-{2,}\s*(original message|forwarded message|message d'origine|ursprüngliche nachricht)\s*-{2,}"
    r"|_{10,}|begin forwarded message:)\s*$",
    re.IGNORECASE,
)
# "On Wed, 10 Jun 2026 at 09:14, Name <address> wrote:" with the quote running on (Yahoo), or an
# attribution that quotequail did not match; it must carry a date (a digit) to be one.
_ATTRIBUTION = re.compile(r"^On\s.*\d.*\swrote:", re.IGNORECASE)
_HEADER_BLOCK = re.compile(r"^\*?(from|de|von|van)\s*:\*?\s", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\*?(sent|date|to|subject|cc|envoyé|gesendet|datum|à|an|objet|betreff)\s*:", re.IGNORECASE)


def _cut_at_markers(text: str) -> str:
    """Cut at the first signature, phone sign-off, forward separator or attribution left in the text."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        stripped = line.strip()
        if index == 0:
            continue  # the command line itself is never a marker
        if (
            _SIGNATURE.match(line)
            or (len(stripped) <= 80 and _MOBILE.match(stripped))
            or _SEPARATOR.match(stripped)
            or _ATTRIBUTION.match(stripped)
            or (
                _HEADER_BLOCK.match(stripped)
                and index + 1 < len(lines)
                and _HEADER_NEXT.match(lines[index + 1].strip())
            )
        ):
            return "\n".join(lines[:index])
    return text


# --------------------------------------------------------------------------- HTML replies

# Elements that hold the quoted message (removed; text after them, as in a bottom-posted
# Thunderbird reply, is kept).
_QUOTE_XPATH = " | ".join(
    (
        '//blockquote[@type="cite"]',  # Apple Mail, iPhone, Thunderbird
        '//*[contains(concat(" ", normalize-space(@class), " "), " gmail_quote ")]',  # Gmail
        '//*[contains(concat(" ", normalize-space(@class), " "), " gmail_attr ")]',
        '//*[contains(@class, "yahoo_quoted") or contains(@id, "yahoo_quoted")]',  # Yahoo, AOL
        '//*[contains(concat(" ", normalize-space(@class), " "), " moz-cite-prefix ")]',  # Thunderbird
        '//*[contains(@class, "moz-signature")]',  # signatures
        '//*[contains(concat(" ", normalize-space(@class), " "), " gmail_signature ")]',
        '//*[@data-smartmail="gmail_signature"]',
        '//*[@id="ms-outlook-mobile-signature"]',
        '//*[@id="composer_signature"]',  # Samsung Email
    )
)
# Elements from which everything to the end of the message is the quoted mail (Outlook).
_CUT_XPATH = " | ".join(
    (
        '//*[@id="divRplyFwdMsg"]',  # Outlook on the web, Hotmail
        '//*[@id="appendonsend"]',
        '//*[@id="mail-editor-reference-message-container"]',  # new Outlook
        '//*[@id="OLK_SRC_BODY_SECTION"]',  # Outlook for Mac
        '//*[contains(@class, "OutlookMessageHeader")]',
    )
)
_BORDER_TOP = re.compile(r"border-top:\s*solid\b[^;]*;\s*padding:\s*3(\.0)?pt", re.IGNORECASE)


def _html_new_text(html: str) -> str | None:
    """HTML with the marked quote containers and signatures taken out, as text; None if unreadable."""
    try:
        html = re.sub(r"^\s*<\?xml[^>]*>", "", html)
        root = lxml.html.document_fromstring(html)
        for element in root.xpath(_QUOTE_XPATH):
            if element.getparent() is not None:
                element.drop_tree()
        cuts = set(root.xpath(_CUT_XPATH))
        cuts.update(el for el in root.iter() if isinstance(el.tag, str) and _BORDER_TOP.search(el.get("style") or ""))
        first = next((el for el in root.iter() if el in cuts), None)
        if first is not None:
            _cut_from(first)
        return str(inscriptis.get_text(lxml.html.tostring(root, encoding="unicode")))
    except Exception:  # malformed HTML: fall back to the text the message parser made of it
        return None


def _cut_from(element: lxml.html.HtmlElement) -> None:
    """Remove an element and everything after it in document order."""
    node = element
    while node is not None and node.getparent() is not None:
        for sibling in list(node.itersiblings()):
            node.getparent().remove(sibling)
        node.tail = None
        node = node.getparent()
    if element.getparent() is not None:
        element.getparent().remove(element)


# --------------------------------------------------------------------------- text helpers

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_ODD_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\t]")


def _normalise(text: str) -> str:
    """Unix line ends, no zero-width characters, non-breaking and other odd spaces as plain spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE)
    return _ODD_SPACES.sub(" ", text)


def _strip_lines(text: str) -> str:
    """Each line without surrounding spaces (HTML indentation is layout), runs of blank lines as one."""
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
