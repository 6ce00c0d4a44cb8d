"""The proposed post apart from the covering note, the policy checklist and the handover: pure tables."""

from __future__ import annotations

import pytest

from intake.handover import accounts_named, handover, poster_named
from intake.notices import Addressee
from intake.policy_checklist import check
from intake.post_text import Found, split

SPLITS = [
    (
        "marker-line-then-sign-off",
        "Dear SMAT,\n\nDraft post for the council's pages:\nLights on at 6pm on Friday!\n\n"
        "Best wishes,\nAnne\nCllr Anne",
        "Lights on at 6pm on Friday!",
        Found.MARKED,
        ("Dear SMAT,", "Best wishes,", "Cllr Anne"),
    ),
    (
        "marker-with-the-post-in-quotes",
        'Hi,\nProposed post: "Come to the fete on Saturday."\nThanks,\nBob',
        "Come to the fete on Saturday.",
        Found.MARKED,
        ("Hi,", "Bob"),
    ),
    (
        "quoted-post-inside-a-note",
        'Hello, could you post this please: "Volunteers cleared the riverside path this morning. Thank you all!" Jo',
        "Volunteers cleared the riverside path this morning. Thank you all!",
        Found.QUOTED,
        ("could you post this please",),
    ),
    (
        "a-short-quote-is-a-phrase-not-a-post",
        'Hello,\nThe school said it was "fine" to use it.\nThanks,\nTom',
        'The school said it was "fine" to use it.',
        Found.BODY,
        ("Hello,", "Tom"),
    ),
    (
        "greeting-and-sign-off-removed",
        "Hello,\nThe choir photo has some of the children in it — the school said it was fine.\nThanks,\nTom",
        "The choir photo has some of the children in it — the school said it was fine.",
        Found.BODY,
        ("Hello,", "Thanks,", "Tom"),
    ),
    (
        "a-thank-you-closing-the-post-stays",
        "Volunteers cleared the riverside path this morning.\nThank you!",
        "Volunteers cleared the riverside path this morning.\nThank you!",
        Found.BODY,
        (),
    ),
    ("the-whole-body-is-the-post", "Fete on Saturday, 2pm.", "Fete on Saturday, 2pm.", Found.BODY, ()),
    ("signature-dashes", "Fete on Saturday.\n-- \nJo Bloggs\n01234 567890", "Fete on Saturday.", Found.BODY, ("Jo",)),
]


@pytest.mark.parametrize("name, text, post, found, in_note", SPLITS, ids=[s[0] for s in SPLITS])
def test_the_proposed_post_is_told_apart_from_the_covering_note(name, text, post, found, in_note):
    parts = split(text)
    assert (parts.post, parts.found) == (post, found)
    assert all(words in parts.covering_note for words in in_note)
    assert (parts.covering_note == "") == (not in_note)


def test_an_edited_text_is_all_post_whatever_it_starts_with():
    assert split("Hello everyone!\nThe fete is on.\nThanks,\nSMAT", edited=True).post.startswith("Hello everyone!")


CHOIR = "The choir photo has some of the children in it — the school said it was fine"

CHECKS = [
    ("choir-photo", CHOIR, 0, {"people", "minors"}),
    ("pictures-alone-touch-consent", "Fete on Saturday.", 2, {"people"}),
    ("copyright", "I found this picture online, courtesy of the Echo.", 0, {"people", "copyright"}),
    ("defamation", "The contractor is a bunch of cowboys and frankly incompetent.", 0, {"defamation"}),
    ("personal-data", "Call Mrs Smith on 01767 123456 about it.", 0, {"personal"}),
    ("party-politics", "Vote for the Labour candidate at the election!", 0, {"inappropriate"}),
    ("nothing", "The library opens at 9am on Monday.", 0, set()),
]


@pytest.mark.parametrize("name, text, pictures, touched", CHECKS, ids=[c[0] for c in CHECKS])
def test_the_checklist_highlights_the_lines_a_draft_touches(name, text, pictures, touched):
    lines = check(text, pictures)
    assert {line.key for line in lines if line.touched} == touched
    assert "device" not in {line.key for line in lines}  # posting from a council device: for the poster


def test_the_minors_line_says_why_and_the_poster_sees_the_device_line():
    [minors] = [line for line in check(CHOIR) if line.key == "minors"]
    assert minors.because == ("children", "school") and "school or teacher" in minors.text
    assert "device" in {line.key for line in check(CHOIR, for_poster=True)}


def test_personal_data_in_a_signature_is_not_the_posts():
    assert not any(c.touched for c in check("Fete.\nJo 01767 123456", post="Fete.") if c.key == "personal")


SAM = Addressee("sam@example.org", "Sam Smat", "smat")
CLERK = Addressee("clerk@example.org", "Town Clerk", "clerk")
DEPUTY = Addressee("deputy@example.org", "Deputy Clerk", "deputy_clerk")
TEAM = (CLERK, DEPUTY, SAM)


@pytest.mark.parametrize(
    "note, approver, poster",
    [
        ("Good to go on Facebook and X.", SAM, None),
        ("Sam to post please", CLERK, SAM),
        ("sam@example.org will post it", CLERK, SAM),
        ("Deputy to post tomorrow", SAM, DEPUTY),
        ("Can the Clerk post this?", SAM, CLERK),
        ("Thanks Sam for spotting it", CLERK, None),  # naming someone is not asking them to post
        ("Sam to post", SAM, None),  # the approver naming themselves: they post it anyway
    ],
)
def test_the_poster_is_the_approver_unless_their_note_names_another_member(note, approver, poster):
    assert poster_named(note, approver, TEAM) == poster


def test_accounts_are_those_the_approver_names_else_the_drafters():
    assert accounts_named("Good to go on Facebook and X.") == ("Facebook", "X (Twitter)")
    assert accounts_named("fine by me") == ()
    told = handover("Please put this on Instagram:\nDraft post: Fete at 2pm!", False, "OK", SAM, TEAM)
    assert (told.post, told.accounts, told.poster, told.named_by_approver) == (
        "Fete at 2pm!",
        ("Instagram",),
        SAM,
        False,
    )
