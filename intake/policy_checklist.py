"""The policy's checklist for reviewers and for whoever posts, with the lines a draft touches marked.

A short reminder from the social media policy, shown in the review request and the
ready-to-post mail. Each line has words that suggest the draft touches it ("children",
"school" → the under-18 line); those lines are highlighted. Keyword-based, pure and
independent of screening: screening adds its own flags on top, and this works without them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    """One reminder from the policy, and the words that mean a draft touches it."""

    key: str
    text: str
    section: str
    words: re.Pattern[str] | None  # None: never highlighted, always shown
    pictures: bool = False  # a draft with pictures touches it
    for_poster_only: bool = False  # shown in the ready-to-post mail, not the review request
    post_only: bool = False  # read in the proposed post only (a signature's phone number is not in the post)


def _words(*words: str) -> re.Pattern[str]:
    """A pattern matching any of the words or phrases, whole, in any case."""
    return re.compile(r"(?<![\w-])(?:" + "|".join(words) + r")(?![\w-])", re.IGNORECASE)


CHECKLIST: tuple[Line, ...] = (
    Line(
        "people",
        "People who can be recognised in a photo or video must have agreed to appear in it.",
        "Appendix A",
        _words(
            r"photos?",
            r"photographs?",
            r"pictures?",
            r"pics?",
            r"images?",
            r"videos?",
            r"footage",
            r"selfies?",
            r"pictured",
            r"filmed",
        ),
        pictures=True,
    ),
    Line(
        "minors",
        "Under-18s need a parent's or guardian's permission; a school or teacher saying yes is not enough.",
        "Appendix A",
        _words(
            r"child(?:ren)?",
            r"kids?",
            r"pupils?",
            r"students?",
            r"schools?",
            r"schoolchildren",
            r"teachers?",
            r"under[- ]?18s?",
            r"minors?",
            r"teenagers?",
            r"teens?",
            r"youths?",
            r"young people",
            r"boys",
            r"girls",
            r"babies",
            r"baby",
            r"toddlers?",
            r"nursery",
            r"scouts?",
            r"cubs",
            r"beavers",
            r"brownies",
            r"guides",
            r"juniors?",
            r"year \d+",
            r"primary",
            r"academy",
            r"sons?",
            r"daughters?",
        ),
    ),
    Line(
        "copyright",
        "A picture taken by someone else needs the copyright owner's permission.",
        "Appendix A",
        _words(
            r"copyright",
            r"©",
            r"courtesy of",
            r"taken by",
            r"credit",
            r"found (?:it )?online",
            r"from the internet",
            r"google",
            r"downloaded",
            r"screenshots?",
            r"stock (?:photo|image)s?",
            r"shared from",
            r"their website",
            r"photographer",
            r"borrowed",
        ),
    ),
    Line(
        "defamation",
        "Nothing that casts doubt on a person's or organisation's reputation; if in any doubt, ask the Town Clerk.",
        "§6.5, Appendix A",
        _words(
            r"fraud\w*",
            r"liars?",
            r"lying",
            r"lied",
            r"corrupt\w*",
            r"stole",
            r"stolen",
            r"theft",
            r"thie(?:f|ves)",
            r"dishonest",
            r"scam\w*",
            r"criminals?",
            r"crooks?",
            r"incompetent",
            r"negligen\w+",
            r"cowboys?",
            r"rip[- ]?off",
            r"to blame",
            r"allegedly",
            r"accused",
            r"cheat\w*",
            r"disgrace\w*",
            r"shameful",
        ),
    ),
    Line(
        "personal",
        "No personal, confidential or internal information: no one's phone number, address or private details.",
        "§6.3, §6.6",
        re.compile(
            r"(?:\b0\d{3,4}[ -]?\d{3}[ -]?\d{3,4}\b|\+44|(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.]+"
            r"|\b\d+[a-z]? [A-Z][a-z]+ (?:Road|Street|Lane|Avenue|Close|Way|Drive|Crescent|Gardens)\b"
            r"|(?<![\w-])(?:confidential|private|internal|not yet (?:public|announced)|under wraps|between us"
            r"|date of birth|medical|diagnos\w+|his address|her address|their address|home address|phone number)"
            r"(?![\w-]))",
            re.IGNORECASE,
        ),
        post_only=True,
    ),
    Line(
        "inappropriate",
        "Nothing false or misleading, obscene, offensive or discriminatory, illegal, bullying, or party-political"
        " or controversial.",
        "§6.5",
        _words(
            r"labour",
            r"conservatives?",
            r"tor(?:y|ies)",
            r"lib ?dems?",
            r"liberal democrats?",
            r"reform uk",
            r"green party",
            r"vote for",
            r"election",
            r"elections",
            r"protest\w*",
            r"petition",
            r"campaign against",
            r"boycott",
            r"idiots?",
            r"morons?",
            r"stupid",
            r"useless",
            r"hate",
            r"bloody",
            r"damn",
        ),
    ),
    Line(
        "device",
        "Post from a council device; a personal device only with the Clerk's or Deputy Clerk's permission.",
        "§6.7",
        None,
        for_poster_only=True,
    ),
)


@dataclass(frozen=True)
class Checked:
    """A checklist line as shown to one reader: highlighted when the draft touches it, with the words why."""

    key: str
    text: str
    section: str
    touched: bool
    because: tuple[str, ...] = ()  # the words in the draft that touch it ("children", "school")


def check(text: str, pictures: int = 0, *, post: str | None = None, for_poster: bool = False) -> tuple[Checked, ...]:
    """The checklist for a draft (its whole text, and its proposed post if known) with this many pictures."""
    out = []
    for line in CHECKLIST:
        if line.for_poster_only and not for_poster:
            continue
        found: list[str] = []
        if line.words is not None:
            for match in line.words.finditer(post if line.post_only and post is not None else text):
                word = match.group(0).strip()
                if word.lower() not in (w.lower() for w in found):
                    found.append(word)
        if line.pictures and pictures:
            found.insert(0, f"{pictures} picture{'' if pictures == 1 else 's'} attached")
        out.append(Checked(line.key, line.text, line.section, bool(found), tuple(found[:4])))
    return tuple(out)
