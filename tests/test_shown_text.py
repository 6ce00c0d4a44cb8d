"""A very long email is shown in our mail up to 100,000 characters, with a line saying the rest is kept."""

from __future__ import annotations

from samples import draft
from sqlalchemy import select
from support import REVIEWERS, queued

from intake.shown_text import SHOWN_CHARS, cut, shown
from intake.store.models import Item


def test_a_text_within_the_limit_is_shown_whole():
    text = "Fun run on Sunday.\n" * 100
    assert cut(text) == (text, 0) and shown(text, "SMAT-2026-0001") == text


def test_a_long_text_is_cut_at_a_line_break_and_says_how_much_is_left_and_where_it_is_kept():
    text = "A line of the draft, forty characters.\n" * 5_000  # 195,000 characters
    kept, left_out = cut(text)
    assert len(kept) <= SHOWN_CHARS and kept.endswith("forty characters.") and left_out == len(text) - len(kept)
    assert shown(text, "SMAT-2026-0007").endswith(
        f"[The rest of this email, {left_out:,} more characters, is not shown here. "
        "The whole message is kept with SMAT-2026-0007.]"
    )


def test_a_text_without_line_breaks_is_cut_at_the_limit():
    kept, left_out = cut("x" * (SHOWN_CHARS + 10))
    assert (len(kept), left_out) == (SHOWN_CHARS, 10)


def test_the_review_requests_of_a_huge_draft_show_its_start_and_stay_small(service_for, sqlite_url):
    body = "Paragraph of a very long letter about the allotments.\n" * 40_000  # 2.1 MB of text
    service = service_for(sqlite_url)
    outcome = service.ingest(draft(subject="The allotments, at length", body=body), "file")

    requests = queued(service, "review-request")
    assert len(requests) == len(REVIEWERS)
    for mail in requests:
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        assert "Paragraph of a very long letter" in text
        assert f"more characters, not shown here; the whole message is kept with {outcome.ref}." in text
        assert "more characters, not shown here" in html
        assert len(mail.as_bytes()) < 1_000_000  # the whole text would be 2.1 MB, twice (text and HTML)
    with service.sessions() as session:  # the item keeps it all
        assert len(session.scalars(select(Item.text)).one()) > 2_000_000
