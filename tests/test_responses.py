"""The standard responses (policy §6.4): the library's files, their format, and which are suggested (no database)."""

from __future__ import annotations

import shutil

import pytest

from intake import responses
from intake.render import Composer
from intake.resources import response_texts, templates_dir
from intake.responses import DEFAULT, Response, ResponseError, parse, score, suggest

LIBRARY = responses.library(response_texts(templates_dir()))
RESPONSIBLE = {  # who answers for what in Biggleswade: the unitary authority, or the town council
    "bins": "Central Bedfordshire Council",
    "roads": "Central Bedfordshire Council",
    "street-lighting": "Central Bedfordshire Council",
    "planning": "Central Bedfordshire Council",
    "parking": "Central Bedfordshire Council",
    "parks": "Biggleswade Town Council",
    "allotments": "Biggleswade Town Council",
    "cemetery": "Biggleswade Town Council",
    "events": "Biggleswade Town Council",
}


def test_the_shipped_library_has_each_topic_the_policy_names_and_the_default():
    assert set(RESPONSIBLE) | {"hall-hire", "reporting", DEFAULT} <= set(LIBRARY)
    for key, council in RESPONSIBLE.items():
        assert council in LIBRARY[key].title and council in LIBRARY[key].body, key
    default = LIBRARY[DEFAULT].body
    assert all(way in default for way in ("telephone", "email", "in person")), default
    for response in LIBRARY.values():
        assert response.title and response.body.strip() and response.paragraphs
        assert response.key == DEFAULT or response.keywords


PARSED = [
    ("title: Bins\nkeywords: bin, Bins , rubbish\n---\nBody one.\n\nBody two.\n", ("bin", "bins", "rubbish")),
    ("# a comment\ntitle: Bins\nkeywords: wheelie bin\n---\nBody.\n", ("wheelie bin",)),
]


@pytest.mark.parametrize("text, keywords", PARSED)
def test_a_response_file_is_a_title_keywords_and_a_body(text, keywords):
    response = parse("bins", text)
    assert (response.title, response.keywords) == ("Bins", keywords)
    assert response.body.startswith("Body")


MALFORMED = [
    ("Bins", "title: x\nkeywords: y\n---\nbody", "file name"),
    ("bins", "title: x\nkeywords: y\nbody", "'---'"),
    ("bins", "keywords: y\n---\nbody", "title is missing"),
    ("bins", "title: x\nkeywords: y\n---\n   \n", "body is empty"),
    ("bins", "title: x\n---\nbody", "keywords are needed"),
    ("bins", "title: x\nsubject: y\n---\nbody", "line 2"),
]


@pytest.mark.parametrize("key, text, says", MALFORMED)
def test_a_malformed_response_file_is_refused_naming_the_file_and_the_fault(key, text, says):
    with pytest.raises(ResponseError, match="templates/responses/") as caught:
        parse(key, text)
    assert says in str(caught.value)


def test_a_library_without_the_default_is_refused():
    with pytest.raises(ResponseError, match="default.txt is missing"):
        responses.library({"bins": "title: Bins\nkeywords: bin\n---\nBody.\n"})


SUGGESTIONS = [
    ("My bin was not collected this week, who do I ask?", "bins"),
    ("Our wheelie bins have been missed again on Drove Road", "bins"),
    ("There is a huge pothole on London Road", "roads"),
    ("The pavement outside the school is broken and someone will trip", "roads"),
    ("The street light outside number 4 has been out for a week", "street-lighting"),
    ("How can I comment on the planning application for the new houses?", "planning"),
    ("I got a parking ticket in the car park, how do I appeal?", "parking"),
    ("How long is the waiting list for an allotment plot?", "allotments"),
    ("Can I book the hall for my daughter's party in March?", "hall-hire"),
    ("When is the Christmas lights switch-on this year?", "events"),
    ("The swings in the play area are broken", "parks"),
    ("I would like to put a new headstone on my father's grave", "cemetery"),
]


@pytest.mark.parametrize("enquiry, best", SUGGESTIONS)
def test_the_best_matching_response_is_suggested_first_and_the_default_last(enquiry, best):
    offered = [r.key for r in suggest(LIBRARY.values(), enquiry)]
    assert offered[0] == best, offered
    assert offered[-1] == DEFAULT and len(offered) <= responses.SUGGESTED + 1


def test_an_enquiry_that_matches_nothing_is_offered_only_the_default():
    assert [r.key for r in suggest(LIBRARY.values(), "Could you tell me the mayor's birthday?")] == [DEFAULT]


SCORES = [
    ("bins bins bins", 1),  # a keyword counts once however often it is said
    ("a Wheelie Bin.", 3),  # the phrase (2) and the word (1)
    ("binoculars", 0),  # whole words only
    ("", 0),
]


@pytest.mark.parametrize("text, points", SCORES)
def test_score_counts_each_keyword_once_and_a_phrase_double(text, points):
    response = Response("bins", "Bins", ("bin", "wheelie bin"), "Body.\n")
    assert score(response, text) == points


def test_a_council_s_own_response_file_is_read_once_by_the_composer_for_every_step(tmp_path):
    """The review request's suggestions and RESPOND take the library from the one composer (one read, one home)."""
    templates = tmp_path / "templates"
    shutil.copytree(templates_dir(), templates)
    (templates / "responses" / "dog-fouling.txt").write_text(
        "title: Dog fouling\nkeywords: dog, fouling\n---\nReport it to Central Bedfordshire Council.\n"
    )
    composer = Composer(templates, "smat.info@example.org", "SMAT")
    library = composer.responses
    assert library["dog-fouling"].title == "Dog fouling" and set(LIBRARY) < set(library)
    (templates / "responses" / "dog-fouling.txt").unlink()
    assert composer.responses is library  # read when first asked for, not again for each mail
    assert suggest(library.values(), "Dog fouling on the path by the church")[0].key == "dog-fouling"
