"""A SMAT member's reply -> the command on its first line: only the text written now counts.

Pure: no network, no database, no files.  Quoted text is found by quotequail (attribution
lines such as "On ... wrote:" in several languages, Outlook's "From:/Sent:" header block,
"-----Original Message-----" and other forward separators, "> " quote blocks before or after
the new text); our own rules add what it does not do: the quote containers that HTML mail
clients mark (Gmail, Outlook, Apple, Yahoo, Thunderbird), signatures ("-- ", "Sent from my
iPhone"), and attribution lines that it misses.  The review request we send lists every
command, so a reply whose command is only in the quoted request must never count.

Anyone can send a reply, and it is read before any authority check, so every step is bounded:
only the first `TEXT_LIMIT` characters of a reply's text and `HTML_LIMIT` of its HTML are read,
quotequail sees lines cut to `_QUOTE_LINE_LIMIT` characters (its own patterns backtrack on long
lines), our patterns have no nested or adjacent unbounded repetition, and a reply the quote
readers cannot follow (too deep) falls back to a plain reading of its lines.
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
# What may stand straight after the verb: closing markup ("*Approve*"), then a colon, or one
# sentence mark that ends the word ("Approved!", "approve. Nice", "Approve, happy with this." as
# Apple Mail writes it) when the line ends or a space follows; or simply the end or a space.
_VERB_END = re.compile(r"[*_~]{0,3}(?::|[.!,]?(?=\s|$))")
# What may separate the verb from its argument: "APPROVE:", "Reject - reason", "Approve, fine".
_SEPARATORS = re.compile(r"^[\s.,:;!*_~=|\-\u2010-\u2015]+")
# Verbs whose first line may be a question: QUERY's argument is one, ESCALATE passes a doubt to
# the Clerk ("ESCALATE political?"), HELP decides nothing.  The verbs that decide never may.
_MAY_ASK = frozenset({"QUERY", "ESCALATE", "HELP"})
# A first line longer than this is prose, not a command; new text longer than TEXT_LIMIT is not read.
COMMAND_LINE_LIMIT = 2_000


def read_command(text: str, registry: Registry | None = None) -> Command | None:
    """The command at the start of the new text; None when its first line is not plainly one of the registry's verbs.

    A verb counts only as a word of its own (end of line, a space or a colon after it, or one
    "." "!" "," that ends the word), and not when the first line asks a question ("Approve or
    reject? I cannot decide"): anything unclear is no command, and the replier gets help.
    """
    spellings = (registry if registry is not None else default_registry()).spellings
    if len(text) > TEXT_LIMIT:
        return None
    text = _normalise(text).strip()
    first, _, rest = text.partition("\n")
    if not first or len(first) > COMMAND_LINE_LIMIT:
        return None
    first = _LEAD.sub("", first, count=1)
    word = _WORD.match(first)
    if word is None:
        return None
    verb = spellings.get(word.group().upper())
    if verb is None:
        return None
    after = first[word.end() :]
    if verb == "HELP" and after.startswith("?"):
        after = after[1:]  # "Help?" asks for what HELP gives
    elif "?" in first and verb not in _MAY_ASK:
        return None  # a question is not a decision
    if _VERB_END.match(after) is None:
        return None  # "Approver", "Approve's", "APPROVE-not", "Reject?": not the word standing alone
    argument = _SEPARATORS.sub("", after, count=1).strip()
    return Command(verb=verb, argument=argument, body=rest.strip())


# --------------------------------------------------------------------------- new text


# How much of a reply is read at all (characters): far more than any command, EDIT text or the
# review request quoted below it, and small enough that reading it stays well under a second.
TEXT_LIMIT = 65_536
HTML_LIMIT = 1_048_576
# quotequail's patterns ("Op (.*) heeft (.*?)", "(.* <.*@.*>)$") backtrack on long lines: it is
# shown at most this much of each line (real attribution and header lines are far shorter).
_QUOTE_LINE_LIMIT = 300
# Longer lines are never signatures, separators, attributions or header lines.
_MARKER_LINE_LIMIT = 1_000
# A bottom-posted reply may quote and answer in turn; deeper than this is not followed.
_MAX_QUOTE_HOPS = 20
# Private-use characters mark the long lines quotequail is shown cut (none survive in the text).
_CUT_MARK, _CUT_END = "\ue000", "\ue001"


def new_text(msg: InboundMessage) -> str:
    """Only what the replier wrote now: quotes, attributions, forwarded review request and signatures cut away."""
    text = msg.text
    if msg.text_from_html and msg.html:
        pruned = _html_new_text(msg.html[:HTML_LIMIT])
        if pruned is not None:
            text = pruned
    text = _normalise(text[:TEXT_LIMIT]).replace(_CUT_MARK, "").replace(_CUT_END, "")
    try:
        return _text_new_text(text)
    except (RecursionError, MemoryError):  # a quote too deep for quotequail: read the lines plainly
        return _plain_new_text(text)


def _text_new_text(text: str) -> str:
    """The new text of a plain-text reply, top-posted or bottom-posted."""
    for _ in range(_MAX_QUOTE_HOPS):
        text = _strip_lines(text)
        unwrapped = _unwrap(text)
        if unwrapped is None or not _is_real_split(unwrapped):
            return _plain_new_text(text)
        top = unwrapped.get("text_top", "")
        if top.strip():
            return _plain_new_text(top)  # top-posted: the new text is above the quote
        # Bottom-posted (the quote first, as Thunderbird does): the new text is below, and may
        # hold another quote in turn.
        text = unwrapped.get("text_bottom", "")
        if not text.strip():
            return ""
    return ""  # quote after quote, deeper than any mail client writes: nothing plainly new


def _plain_new_text(text: str) -> str:
    """The new text read line by line without quotequail: a leading "> " quote and everything after a marker cut."""
    return _strip_lines(_cut_at_markers(_drop_leading_quote(_strip_lines(text))))


def _unwrap(text: str) -> dict[str, str] | None:
    """quotequail's split of the text, shown each line cut to `_QUOTE_LINE_LIMIT`, with the full lines put back."""
    lines = text.split("\n")
    long_lines: list[str] = []
    for index, line in enumerate(lines):
        if len(line) > _QUOTE_LINE_LIMIT:
            lines[index] = f"{line[:_QUOTE_LINE_LIMIT]}{_CUT_MARK}{len(long_lines)}{_CUT_END}"
            long_lines.append(line)
    unwrapped: dict[str, str] | None = quotequail.unwrap("\n".join(lines))
    if unwrapped is None:
        return None
    return {key: _restore(value, long_lines) for key, value in unwrapped.items()}


def _restore(text: str, long_lines: list[str]) -> str:
    """Put back the full lines that `_unwrap` showed quotequail cut."""
    if _CUT_END not in text:
        return text
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if line.endswith(_CUT_END) and _CUT_MARK in line:
            number = line[line.rindex(_CUT_MARK) + 1 : -1]
            if number.isdecimal() and int(number) < len(long_lines):
                lines[index] = long_lines[int(number)]
    return "\n".join(lines)


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
_HEADER_BLOCK = re.compile(r"^\*?(from|de|von|van)\s*:\*?\s", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\*?(sent|date|to|subject|cc|envoyé|gesendet|datum|à|an|objet|betreff)\s*:", re.IGNORECASE)


def _cut_at_markers(text: str) -> str:
    """Cut at the first signature, phone sign-off, forward separator or attribution left in the text."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        stripped = line.strip()
        if index == 0:
            continue  # the command line itself is never a marker
        if _is_attribution(stripped[:_MARKER_LINE_LIMIT]):  # Yahoo runs the quote on after "wrote:"
            return "\n".join(lines[:index])
        if len(stripped) > _MARKER_LINE_LIMIT:
            continue  # a long line is no signature, separator or header
        if (
            _SIGNATURE.match(line)
            or (len(stripped) <= 80 and _MOBILE.match(stripped))
            or _SEPARATOR.match(stripped)
            or (
                _HEADER_BLOCK.match(stripped)
                and index + 1 < len(lines)
                and _HEADER_NEXT.match(lines[index + 1].strip())
            )
        ):
            return "\n".join(lines[:index])
    return text


def _is_attribution(line: str) -> bool:
    """ "On Wed, 10 Jun 2026 at 09:14, Name <address> wrote:", maybe with the quote running on (Yahoo).

    An attribution quotequail did not match; it must carry a date (a digit) to be one.  A string
    check, not the pattern "^On\\s.*\\d.*\\swrote:", which backtracks quadratically on a long line.
    """
    if len(line) < 4 or line[:2].lower() != "on" or not line[2].isspace():
        return False
    lower = line.lower()
    end = lower.rfind("wrote:")
    while end > 3 and not line[end - 1].isspace():
        end = lower.rfind("wrote:", 0, end)
    return end > 3 and any(char.isdecimal() for char in line[3 : end - 1])


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
# Outlook's separator above the quoted header block: "border:none;border-top:solid #E1E1E1 1.0pt;
# padding:3.0pt 0in 0in 0in".  Bounded repetition, on style values of bounded length, so that a
# style repeating "border-top:solid" cannot make the search quadratic.
_BORDER_TOP = re.compile(r"border-top:\s{0,20}solid\b[^;]{0,200};\s{0,20}padding:\s{0,20}3(\.0)?pt", re.IGNORECASE)
_STYLE_LIMIT = 1_000


_XML_DECLARATION = re.compile(r"^\s{0,100}<\?xml[^<>]{0,500}>")


def _html_new_text(html: str) -> str | None:
    """HTML with the marked quote containers and signatures taken out, as text; None if unreadable."""
    try:
        html = _XML_DECLARATION.sub("", html, count=1)
        root = lxml.html.document_fromstring(html)
        for element in root.xpath(_QUOTE_XPATH):
            if element.getparent() is not None:
                element.drop_tree()
        cuts = set(root.xpath(_CUT_XPATH))
        cuts.update(el for el in root.iter() if isinstance(el.tag, str) and _outlook_separator(el.get("style") or ""))
        first = next((el for el in root.iter() if el in cuts), None)
        if first is not None:
            _cut_from(first)
        return str(inscriptis.get_text(lxml.html.tostring(root, encoding="unicode")))
    except Exception:  # malformed or too deep (RecursionError, lxml's errors): the parser's text instead
        return None


def _outlook_separator(style: str) -> bool:
    """Whether an element's style is Outlook's border above the quoted header block."""
    return len(style) <= _STYLE_LIMIT and _BORDER_TOP.search(style) is not None


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
