"""Links (policy §6.3, Appendix A): readers should see where a link goes, safely, and not to a private person.

Shortened links hide their destination, plain http is not private, and a link to a
personal social media account points followers at someone who has not agreed to it (§7).
The council's own accounts ([screening] accounts handles) are not personal.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from intake.screening.base import Draft, Flag, around, extra_words

if TYPE_CHECKING:
    from intake.config import Settings

ID, SECTION, SEVERITY = "links", "6.3", "warn"
DESCRIPTION = "shortened links, plain http, links to personal social media accounts"

_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+|\b(?:bit\.ly|tinyurl\.com|t\.co|goo\.gl)/[^\s<>\"')\]]+", re.I)
_SHORTENERS = (
    "bit.ly",
    "tinyurl.com",
    "t.co",
    "goo.gl",
    "ow.ly",
    "is.gd",
    "buff.ly",
    "rebrand.ly",
    "cutt.ly",
    "shorturl.at",
    "tiny.cc",
    "lnkd.in",
    "rb.gy",
    "s.id",
    "t.ly",
    "bl.ink",
)
# Social sites where the first path segment is an account, and the paths that are not people.
_SOCIAL = {"facebook.com", "fb.com", "instagram.com", "x.com", "twitter.com", "tiktok.com", "threads.net"}
_NOT_PEOPLE = {"events", "groups", "pages", "watch", "hashtag", "explore", "p", "reel", "status", "search", "share"}


def check(draft: Draft, config: Settings) -> list[Flag]:
    """One flag per kind of link problem, at its first link."""
    text = draft.words
    own = {h.lstrip("@").lower() for h in (a.handle for a in config.screening.accounts) if h}
    shorteners = (*_SHORTENERS, *(w.lower() for w in extra_words(config, ID)))
    seen: dict[str, Flag] = {}
    for match in _URL.finditer(text):
        url = match.group().rstrip(".,;:!?")
        parts = urlsplit(url if "://" in url else f"https://{url}")
        host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.")
        kind = None
        if host in shorteners:
            kind = "shortened link (its destination is hidden)"
        elif url.lower().startswith("http://"):
            kind = "plain http link (not secure): use https"
        elif host.removeprefix("mobile.") in _SOCIAL and _personal(parts.path, parts.query, own):
            kind = "link to a personal social media account"
        elif (host == "linkedin.com" or host.endswith(".linkedin.com")) and parts.path.lower().startswith("/in/"):
            kind = "link to a personal social media account"
        if kind and kind not in seen:
            seen[kind] = Flag(ID, SECTION, SEVERITY, f"{kind}: {around(text, match.start(), match.end())}")
    return list(seen.values())


def _personal(path: str, query: str, own: set[str]) -> bool:
    """Whether a social site's path names a person's account (not a page, group, post or the council)."""
    first = path.strip("/").split("/", 1)[0].lstrip("@").lower()
    if first == "profile.php":
        return True
    return bool(first) and first not in _NOT_PEOPLE and first not in own
