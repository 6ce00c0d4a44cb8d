"""Personal and confidential data (policy §6.6, Appendix A): nothing private goes on a public page.

E-mail addresses and UK phone numbers (read with Google's libphonenumber, so 01767 313134,
+44 7700 900123 and (01767) 31-31-34 all count) other than the council's own; a home address
(a house number and a street, or a postcode beside one); National Insurance numbers, dates
of birth, bank sort codes and account numbers, vehicle registrations; and words that say a
text is not for the public ("confidential", "internal only", "not for publication").
The last group is high: the Clerk decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import phonenumbers

from intake.screening.base import Draft, Flag, around, extra_words, words_pattern

if TYPE_CHECKING:
    from intake.config import Settings

ID, SECTION, SEVERITY = "personal_data", "6.6", "warn"
DESCRIPTION = "e-mail addresses, phone numbers, home addresses, NI numbers, dates of birth, bank details, number plates"

_STREET = (
    r"(?:Road|Rd|Street|St|Lane|Ln|Avenue|Ave|Close|Drive|Dr|Way|Crescent|Gardens|Court|Place|Grove|Terrace|"
    r"Walk|Mews|Rise|View|Row|Hill|Green|Square|Park|End|Chase|Croft|Parade|Yard|Meadows?|Wharf|Gate|Approach|"
    r"Vale|Mead|Fields?|Boulevard|Paddock|Orchard)"
)
_HOUSE = re.compile(r"\b(?:Flat\s+\d+[A-Za-z]?,?\s+)?\d{1,4}[A-Za-z]?,?\s+(?:[A-Z][a-z']+\s+){1,3}" + _STREET + r"\b")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")
_NEAR_STREET = re.compile(r"\b[A-Z][a-z']+\s+" + _STREET + r"\b")
# A street named after a venue is an organisation's address, not someone's home.
_VENUE = re.compile(
    r"\b(?:Centre|Hall|Church|School|Academy|Library|Offices?|Court House|Pavilion|Club|Inn|Arms|Surgery|Station|"
    r"Museum|Market|Leisure|Shop|Store|Ltd|Council)\b"
)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b")
_NI = re.compile(r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b")
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*"
_DATE = r"(?:\d{1,2}(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+\d{4}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})"
_BIRTH = re.compile(
    r"\b(?:date\s+of\s+birth|d\.?o\.?b\.?|born(?:\s+on)?)\s*[:\-]?\s*" + _DATE,
    re.IGNORECASE,
)
_BANK = re.compile(
    r"\bsort\s*code\s*[:\-]?\s*\d{2}[\s-]?\d{2}[\s-]?\d{2}\b|\b\d{2}-\d{2}-\d{2}\b(?=.{0,40}\b\d{8}\b)"
    r"|\b(?:account|acc|a/c)\.?\s*(?:number|no\.?|num)?\s*[:\-]?\s*\d{8}\b",
    re.IGNORECASE | re.DOTALL,
)
# Current plates (AB12 CDE) and prefix plates (A123 BCD).
_PLATE = re.compile(r"\b(?:[A-Z]{2}\d{2}\s?[A-Z]{3}|[A-HJ-PR-Y]\d{1,3}\s?[A-Z]{3})\b")
_CONFIDENTIAL = (
    "confidential",
    "strictly private",
    "internal only",
    "internal use only",
    "for internal use",
    "not for publication",
    "not for public release",
    "not to be published",
    "not for circulation",
    "do not share",
    "do not forward",
    "under embargo",
    "embargoed",
    "part 2 item",
    "exempt item",
)
# A person's number is geographic (01, 02) or mobile (07); 03 and 08 lines belong to organisations.
_PERSONAL_PREFIXES = ("1", "2", "7")


def check(draft: Draft, config: Settings) -> list[Flag]:
    """A flag for each kind of personal or confidential data found, with the first place it occurs."""
    text = draft.words
    flags: list[Flag] = []
    for label, severity, found in _findings(text, config):
        start, end = found
        flags.append(Flag(ID, SECTION, severity, f"{label}: {around(text, start, end)}"))
    return flags


def _findings(text: str, config: Settings) -> Iterator[tuple[str, str, tuple[int, int]]]:
    """(what, severity, span) for the first of each kind of finding."""
    markers = words_pattern((*_CONFIDENTIAL, *extra_words(config, ID)))
    checks: tuple[tuple[str, str, tuple[int, int] | None], ...] = (
        ("marked not for the public", "high", _span(markers.search(text) if markers else None)),
        ("National Insurance number", "high", _span(_NI.search(text))),
        ("date of birth", "high", _span(_BIRTH.search(text))),
        ("bank details", "high", _span(_BANK.search(text))),
        ("e-mail address", SEVERITY, _email(text, config)),
        ("phone number", SEVERITY, _phone(text, config)),
        ("home address", SEVERITY, _address(text, config)),
        ("vehicle registration", SEVERITY, _span(_PLATE.search(text))),
    )
    for label, severity, span in checks:
        if span is not None:
            yield label, severity, span


def _span(match: re.Match[str] | None) -> tuple[int, int] | None:
    return match.span() if match else None


def _own_domains(config: Settings) -> set[str]:
    """The council's own mail domains: the intake mailbox's and the council's published address's."""
    domains = {config.mailbox.domain}
    if "@" in config.council.email:
        domains.add(config.council.email.rsplit("@", 1)[1].lower())
    return domains


def _email(text: str, config: Settings) -> tuple[int, int] | None:
    """The first address not at one of the council's own domains."""
    own = _own_domains(config)
    for match in _EMAIL.finditer(text):
        domain = match.group().rsplit("@", 1)[1].lower()
        if not any(domain == d or domain.endswith("." + d) for d in own):
            return match.span()
    return None


def _phone(text: str, config: Settings) -> tuple[int, int] | None:
    """The first UK geographic or mobile number written as one (0… or +44…) that is not the council's own.

    Possible rather than valid numbers, so that Ofcom's drama ranges (07700 900xxx) count too;
    written with the trunk 0 or +44, so that crime references and sort codes do not.
    """
    own = _national(config.council.phone)
    for match in phonenumbers.PhoneNumberMatcher(text, "GB", leniency=phonenumbers.Leniency.POSSIBLE):
        number = str(match.number.national_number)
        written = match.raw_string.lstrip("(")
        if number == own or not number.startswith(_PERSONAL_PREFIXES) or not written.startswith(("0", "+44")):
            continue
        return match.start, match.end
    return None


def _national(phone: str) -> str:
    """A configured phone number's national significant number, or "" if it is not one."""
    try:
        return str(phonenumbers.parse(phone, "GB").national_number) if phone.strip() else ""
    except phonenumbers.NumberParseException:
        return ""


def _address(text: str, config: Settings) -> tuple[int, int] | None:
    """A house number and street, or a postcode with a street before it; not a venue's, not the council's."""
    for match in _HOUSE.finditer(text):
        if not _VENUE.search(text[max(0, match.start() - 40) : match.start()]):
            return match.span()
    for match in _POSTCODE.finditer(text):
        if match.group().replace(" ", "") in config.council.office.replace(" ", ""):
            continue
        before = text[max(0, match.start() - 60) : match.start()]
        if _NEAR_STREET.search(before) and not _VENUE.search(before):
            return match.span()
    return None
