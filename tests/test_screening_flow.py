"""Screening end to end (issue 9, "Done when"): drafts taken in by `Service.ingest` reach reviewers
with the right policy flag at the top of the review request, stored on the item as interface.md
says; a benign notice reaches them with no flags block at all.
"""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from samples import draft
from sqlalchemy import select
from support import REVIEWERS, make_service

from intake.store.models import Item, OutboxMessage, utcnow
from intake.views import item_to_dict

FLAG_KEYS = {"rule", "section", "severity", "excerpt"}


def review_requests(service) -> list[EmailMessage]:
    with service.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == "review-request"))
        return [message_from_bytes(row.raw, policy=default) for row in rows]


def stored(service, ref: str) -> dict:
    with service.sessions() as session:
        item = session.scalars(select(Item).where(Item.ref == ref)).one()
        return item_to_dict(item, service.settings.council.tz)


def first_flag(mail: EmailMessage) -> tuple[str, str]:
    """(plain-text line, html) of the review request: the first line of its flags block, and the whole HTML."""
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    lines = text.splitlines()
    header = next(n for n, line in enumerate(lines) if line.startswith("----- Policy flags"))
    assert header < next(n for n, line in enumerate(lines) if line.startswith("----- Proposed post"))  # above the draft
    return lines[header + 1].strip(), html


@pytest.fixture
def service(tmp_path, database_url):
    today = utcnow().date()
    period = {"start": (today - timedelta(days=3)).isoformat(), "end": (today + timedelta(days=3)).isoformat()}
    svc = make_service(tmp_path, database_url, screening={"pre_election": [period]})
    yield svc
    svc.engine.dispose()


@pytest.mark.parametrize(
    ("subject", "body", "photos", "rule", "severity", "words"),
    [
        ("Dog found", "A brown terrier was found on Fairfield Road. Ring Sarah on 07700 900461.", 0,
         "personal_data", "WARN", "07700 900461"),
        ("Sports day", "Photos from Lawnside Academy sports day: well done to all the pupils!", 1,
         "pictures", "HIGH", "parent's or guardian's permission"),
        ("Expenses", "Everyone knows Cllr Peter Holt is a fraud who fiddled his expenses.", 0,
         "defamation", "HIGH", "Cllr Peter Holt"),
        ("Precept", "The Conservatives on the Town Council have frozen the precept.", 0,
         "political", "HIGH", "pre-election period"),
    ],
)  # fmt: skip
def test_a_flagged_draft_reaches_reviewers_with_its_flag_on_top(service, subject, body, photos, rule, severity, words):
    outcome = service.ingest(draft(subject=subject, body=body, photos=photos), "file")
    item = stored(service, outcome.ref)
    assert rule in {f["rule"] for f in item["flags"]}
    assert all(set(flag) == FLAG_KEYS for flag in item["flags"])
    mails = review_requests(service)
    assert sorted(m["To"].addresses[0].addr_spec for m in mails) == sorted(REVIEWERS)
    for mail in mails:
        line, html = first_flag(mail)
        assert line.startswith(f"{severity}  {rule} (policy ") and words in line
        assert "Policy flags" in html and html.index("Policy flags") < html.index(body.split(":")[0][:20])
    if severity == "HIGH":
        text = mails[0].get_body(("plain",)).get_content()
        assert "only the Town Clerk or the Deputy Town Clerk can approve" in text


def test_high_flags_come_before_warnings(service):
    body = "Ring me on 07700 900777: Cllr Brian Ward is a liar and a crook."
    outcome = service.ingest(draft(subject="Disgrace", body=body), "file")
    assert [f["rule"] for f in stored(service, outcome.ref)["flags"]] == ["personal_data", "defamation"]
    line, _ = first_flag(review_requests(service)[0])
    assert line.startswith("HIGH  defamation")


def test_a_benign_notice_reaches_reviewers_with_no_flags(service):
    body = "Shortmead Street will be closed on Sunday from 9am to 4pm for resurfacing. A diversion is signed."
    outcome = service.ingest(draft(subject="Road closure", body=body), "file")
    assert stored(service, outcome.ref)["flags"] == []
    for mail in review_requests(service):
        assert "Policy flags" not in mail.get_body(("plain",)).get_content()
        assert "Policy flags" not in mail.get_body(("html",)).get_content()


def test_screening_adds_to_the_impersonation_flag(service):
    raw = draft(name="Town Clerk", sender="clerk@evil.example", body="Call 07700 900461 for tickets.")
    outcome = service.ingest(raw, "file")
    assert [f["rule"] for f in stored(service, outcome.ref)["flags"]] == ["impersonation", "personal_data"]


def test_reports_are_not_screened_as_drafts(service):
    outcome = service.ingest(draft(subject="Report: broken bench", body="Ring me on 07700 900461."), "file")
    assert stored(service, outcome.ref)["kind"] == "report"
    assert stored(service, outcome.ref)["flags"] == []


def test_show_prints_each_flag_for_the_operator(service):
    from intake.views import item_text

    ref = service.ingest(draft(subject="Dog found", body="Ring Sarah on 07700 900461 about the terrier."), "smtp").ref
    with service.sessions() as session:
        item = session.scalars(select(Item).where(Item.ref == ref)).one()
        shown = item_text(item, service.settings.council.tz)
    assert "Flag:" in shown and "personal_data" in shown and "07700 900461" in shown
