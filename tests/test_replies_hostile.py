"""Hostile replies through `Service.ingest` (issue 7 items 3, 5 and 11).

Anyone can send a reply, and it is read before any authority check: a line built to make a
pattern backtrack must be read in bounded time while ordinary drafts are still taken in, a
question must not be read as a decision, and a reply nested too deep for the quote reader is
still recorded on its item.
"""

from __future__ import annotations

import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import make_msgid

import pytest
from samples import draft
from sqlalchemy import select
from support import REVIEWERS, make_service

from intake.service import Service
from intake.store.models import Event, Item, OutboxMessage
from intake.vocab import EventKind, Status

CLERK = REVIEWERS[0]
# Before the fix this line alone took over 28 s (the attribution pattern backtracked on it).
ATTRIBUTION_LIKE = "On 1" + " 1" * 100_000


@pytest.fixture
def service(tmp_path, database_url):
    service = make_service(tmp_path, database_url)
    yield service
    service.close()


def submit(service: Service, subject: str = "Litter pick on Saturday") -> str:
    outcome = service.ingest(draft(subject=subject), "file")
    assert outcome.classification == "draft" and outcome.ref
    return outcome.ref


def request_to(service: Service, member: str, ref: str) -> EmailMessage:
    """The review request `member` was sent for `ref`."""
    with service.sessions() as session:
        rows = [(r.recipients, r.raw) for r in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    found = [message_from_bytes(raw, policy=default) for recipients, raw in rows if member in recipients]
    found = [m for m in found if m["X-SMAT-Purpose"] == "review-request" and f"[{ref}]" in m["Subject"]]
    assert len(found) == 1
    return found[0]  # type: ignore[return-value]


def reply(service: Service, ref: str, body: str, *, html: str | None = None, member: str = CLERK):
    """`member` answers their review request for `ref` (to its Reply-To key address) with `body` and/or `html`."""
    answering = request_to(service, member, ref)
    msg = EmailMessage()
    msg["From"] = f"Member <{member}>"
    msg["To"] = str(answering["Reply-To"])
    msg["Subject"] = f"Re: {answering['Subject']}"
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg["In-Reply-To"] = answering["Message-ID"]
    if body:
        msg.set_content(body)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    else:
        msg.set_content(html or "", subtype="html")  # HTML only: its text is read from the HTML
    return service.ingest(msg.as_bytes(policy=SMTP), "smtp", envelope_recipients=[str(answering["Reply-To"])])


def status(service: Service, ref: str) -> str:
    with service.sessions() as session:
        return session.scalars(select(Item.status).where(Item.ref == ref)).one()


def events(service: Service, ref: str) -> list[Event]:
    with service.sessions() as session:
        item_id = session.scalars(select(Item.id).where(Item.ref == ref)).one()
        return list(session.scalars(select(Event).where(Event.item_id == item_id).order_by(Event.id)))


def recorded_on_item(service: Service, ref: str) -> list[Event]:
    """The history lines a reply left on its item (a decision or a reply received)."""
    return [e for e in events(service, ref) if e.kind in (EventKind.DECISION, EventKind.REPLY_RECEIVED)]


# --------------------------------------------------------------------------- item 3: bounded time


def test_attribution_like_200_kb_line_is_read_in_bounded_time_and_drafts_still_come_in(service) -> None:
    ref = submit(service)
    started = time.perf_counter()
    outcome = reply(service, ref, f"Thanks, I will look tomorrow.\n\n{ATTRIBUTION_LIKE}\n")
    took = time.perf_counter() - started
    assert took < 5, f"a 200 KB attribution-like line took {took:.1f} s"
    assert outcome.ref == ref and outcome.classification == "reply"
    assert status(service, ref) == Status.IN_REVIEW and len(recorded_on_item(service, ref)) == 1
    started = time.perf_counter()
    assert submit(service, "Quiz night") != ref
    assert time.perf_counter() - started < 5


def test_approve_above_a_200_kb_attribution_like_line_still_approves(service) -> None:
    ref = submit(service)
    started = time.perf_counter()
    reply(service, ref, f"APPROVE\n\n{ATTRIBUTION_LIKE}\n")
    assert time.perf_counter() - started < 5
    assert any(e.kind == EventKind.DECISION and e.data.get("command") == "APPROVE" for e in events(service, ref))


def test_html_style_repeating_border_top_is_read_in_bounded_time(service) -> None:
    ref = submit(service)
    style = "border-top:solid " * 36_000  # ~600 KB; the old style pattern took over 10 s on it
    started = time.perf_counter()
    outcome = reply(service, ref, "", html=f'<div style="{style}">Thanks</div>')
    assert time.perf_counter() - started < 5
    assert outcome.ref == ref and status(service, ref) == Status.IN_REVIEW


# --------------------------------------------------------------------------- item 5: questions


@pytest.mark.parametrize(
    "body",
    [
        "Approve or reject? I cannot decide",
        "Reject? No \u2014 it is fine by me",
        "APPROVE-not",
        "Posted? where",
        "Approved?",
    ],
)
def test_a_question_or_a_verb_run_into_other_text_decides_nothing_and_gets_help(service, body: str) -> None:
    ref = submit(service)
    reply(service, ref, body)
    assert status(service, ref) == Status.IN_REVIEW
    lines = recorded_on_item(service, ref)
    assert len(lines) == 1 and lines[0].data.get("command") in (None, "", "HELP"), lines[0].data
    with service.sessions() as session:
        purposes = [r.purpose for r in session.scalars(select(OutboxMessage)) if CLERK in r.recipients]
    assert "help" in purposes, purposes


def test_plain_approved_with_a_full_stop_still_approves(service) -> None:
    ref = submit(service)
    reply(service, ref, "Approved.\n")
    assert any(e.kind == EventKind.DECISION and e.data.get("command") == "APPROVE" for e in events(service, ref))


# --------------------------------------------------------------------------- item 11: deep quotes


def test_reply_quoting_too_deep_for_the_quote_reader_is_recorded_on_its_item(service) -> None:
    ref = submit(service)
    nested = "".join(f"On 1 Jan 2026 Member{i} wrote:\n> a\n> b\n> c\n\n" for i in range(5_000))
    outcome = reply(service, ref, nested + "APPROVE\n")
    assert outcome.ref == ref and outcome.classification == "reply"
    assert len(recorded_on_item(service, ref)) == 1
    with service.sessions() as session:
        assert session.scalars(select(Item.ref)).all() == [ref]  # not quarantined as a new item
        assert not session.scalars(select(Event).where(Event.kind == EventKind.PROCESSING_FAILED)).all()


def test_reply_with_a_thousand_nested_blockquotes_is_recorded_on_its_item(service) -> None:
    ref = submit(service)
    html = "<p>Thanks</p>" + '<blockquote type="cite">' * 1_000 + "APPROVE" + "</blockquote>" * 1_000
    outcome = reply(service, ref, "", html=html)
    assert outcome.ref == ref and status(service, ref) == Status.IN_REVIEW
    assert len(recorded_on_item(service, ref)) == 1
