"""ACTIONED, ASSIGN, KIND and RESPOND as pure rules: who may, in which kinds and states, and what follows."""

from __future__ import annotations

import pytest

from intake.commands import default_registry
from intake.commands.assign import roster_match
from intake.decisions import Actor, ItemState, Rules, judge
from intake.decisions import decide as full_decide
from intake.notices import Addressee, Desk
from intake.replies import Command

REGISTRY = default_registry()
CLERK, DEPUTY, SAM, JANE = "clerk@example.org", "deputy@example.org", "sam@example.org", "jane@example.com"
PAT = Addressee("pat@example.org", "Pat Staff", "staff")
PEOPLE = (
    Addressee(CLERK, "Town Clerk", "clerk"),
    Addressee(DEPUTY, "Deputy Clerk", "deputy_clerk"),
    Addressee(SAM, "Sam Smat", "smat"),
    PAT,
    Addressee("pat.jones@example.org", "Pat Jones", "councillor"),
)
RULES = Rules(people=PEOPLE, responses={"bins": "Bins (Central Bedfordshire Council)", "default": "Contact us"})
ROLES = {CLERK: "clerk", DEPUTY: "deputy_clerk", SAM: "smat", PAT.email: "staff"}
DESK = Desk("smat.info@example.org", PEOPLE[:3])
REF = "SMAT-2026-0007"


def actor(email: str = SAM, **kw) -> Actor:
    fields = {"role": ROLES.get(email, "public"), "key_holder": email, "on_roster": email in ROLES, "key": "k"}
    return Actor(email=email, **{**fields, **kw})


def item(kind: str = "report", status: str = "open", **kw) -> ItemState:
    return ItemState(**{"ref": REF, "kind": kind, "status": status, "sender": JANE, **kw})


def run(line: str, who: Actor | None = None, state: ItemState | None = None, body: str = ""):
    verb, _, argument = line.partition(" ")
    return judge(Command(verb, argument, body), who or actor(), state or item(), RULES, REGISTRY)


# verb line, kind, status -> new status (None: refused, with the reason containing the last column)
TABLE = [
    ("ACTIONED Bench repaired", "report", "open", "actioned", ""),
    ("ACTIONED", "report", "open", None, "needs a note of what was done"),
    ("ACTIONED Bench repaired", "report", "actioned", None, "has already been actioned"),
    ("ACTIONED Bench repaired", "enquiry", "open", None, "is an enquiry, not a report; ACTIONED applies to reports"),
    ("ACTIONED Bench repaired", "draft", "in_review", None, "is a draft, not a report"),
    ("ACTIONED Bench repaired", "report", "quarantined", None, "the Town Clerk decides"),
    ("RESPOND bins", "enquiry", "open", "answered", ""),
    ("RESPOND BINS.", "enquiry", "open", "answered", ""),
    ("RESPOND", "enquiry", "open", None, "needs the key of a standard response: bins (Bins"),
    ("RESPOND potholes", "enquiry", "open", None, "no standard response called 'potholes'; the responses are: bins"),
    ("RESPOND bins", "enquiry", "answered", None, "has already been answered"),
    ("RESPOND bins", "report", "open", None, "is a report, not an enquiry; RESPOND applies to enquiries"),
    ("ASSIGN Pat Staff", "report", "open", "open", ""),
    ("ASSIGN pat@example.org", "report", "open", "open", ""),
    ("ASSIGN Staff", "report", "open", "open", ""),
    ("ASSIGN Pat", "report", "open", None, "could be Pat Staff <pat@example.org> or Pat Jones"),
    ("ASSIGN Bob", "report", "open", None, "no one on the roster is called 'Bob'"),
    ("ASSIGN", "report", "open", None, "ASSIGN needs the name or address"),
    ("ASSIGN Pat Staff", "report", "actioned", None, "has already been actioned"),
    ("ASSIGN Pat Staff", "draft", "in_review", None, "is a draft, not a report"),
    ("KIND report", "draft", "in_review", "open", ""),
    ("KIND enquiry", "draft", "queried", "open", ""),
    ("KIND draft", "report", "open", "in_review", ""),
    ("KIND enquiry", "report", "open", "open", ""),
    ("KIND report", "enquiry", "open", "open", ""),
    ("KIND report", "report", "open", None, "is already a report"),
    ("KIND poem", "report", "open", None, "KIND needs one of draft | report | enquiry"),
    ("KIND report", "draft", "approved", None, "has already been approved"),
    ("KIND draft", "report", "actioned", None, "its kind can no longer be changed"),
    ("KIND report", "draft", "escalated", None, "waits for the Town Clerk or Deputy Town Clerk"),
]


@pytest.mark.parametrize("line, kind, status, new_status, reason", TABLE, ids=[f"{t[0]}-{t[1]}-{t[2]}" for t in TABLE])
def test_each_new_command_in_each_kind_and_state(line, kind, status, new_status, reason):
    ruling = run(line, state=item(kind, status))
    if new_status is None:
        assert not ruling.accepted and reason in ruling.reason, ruling.reason
    else:
        assert ruling.accepted, ruling.reason
        assert (ruling.new_status or status) == new_status


def test_the_clerk_may_change_the_kind_of_an_escalated_draft():
    assert run("KIND report", actor(CLERK), item("draft", "escalated")).accepted


IMPOSTORS = [
    ("public", actor("mallory@example.net", on_roster=False), "only the Town Clerk, the Deputy Town Clerk and SMAT"),
    ("staff assignee", actor(PAT.email), "only the Town Clerk, the Deputy Town Clerk and SMAT"),
    ("no key", actor(SAM, key_holder=None, key=None, matched_by="subject"), "reply to your review request"),
    ("another's key", actor(DEPUTY, key_holder=SAM), "sent to another SMAT member"),
    ("former", actor("gone@example.org", role="former"), "no longer an active member"),
    ("expired", actor(SAM, key_expired=True), "has expired"),
]


@pytest.mark.parametrize(
    "line, kind",
    [
        ("ACTIONED Done", "report"),
        ("ASSIGN Pat Staff", "report"),
        ("KIND draft", "report"),
        ("RESPOND bins", "enquiry"),
    ],
)
@pytest.mark.parametrize("who, person, reason", IMPOSTORS, ids=[i[0] for i in IMPOSTORS])
def test_only_smat_with_their_own_key_may_use_them(line, kind, who, person, reason):
    ruling = run(line, person, item(kind))
    assert not ruling.accepted and reason in ruling.reason


def test_the_reporter_cannot_close_their_own_report_their_words_go_to_smat():
    ruling = run("ACTIONED all fine now", actor(JANE, role="public"), item())
    assert ruling.verb == "NOTE" and ruling.new_status is None


def told(line: str, state: ItemState, by: str = SAM, body: str = "") -> list[tuple[str, str, str]]:
    verb, _, argument = line.partition(" ")
    decision = full_decide(Command(verb, argument, body), actor(by), state, RULES, registry=REGISTRY, desk=DESK)
    return [(n.template, n.to.email, n.purpose) for n in decision.notices]


OTHERS = [("decision-to-smat", r, "decision") for r in (CLERK, DEPUTY)]


def test_actioned_tells_the_reporter_and_the_other_members():
    assert told("ACTIONED Bench repaired", item()) == [("report-actioned", JANE, "decision"), *OTHERS]


def test_respond_sends_the_standard_response_to_the_enquirer_and_tells_the_other_members():
    assert told("RESPOND bins", item("enquiry")) == [("standard-response", JANE, "standard-response"), *OTHERS]


def test_assign_sends_the_report_to_the_assignee_with_its_pictures():
    verb = Command("ASSIGN", "Pat Staff", "Please look at it this week.")
    decision = full_decide(verb, actor(SAM), item(), RULES, registry=REGISTRY, desk=DESK)
    assert [(n.template, n.to.email) for n in decision.notices] == [("assigned", PAT.email)] + [
        ("decision-to-smat", r) for r in (CLERK, DEPUTY)
    ]
    assert decision.notices[0].pictures
    assert decision.history.data["assignee"] == PAT.email
    assert decision.history.data["instructions"] == "Please look at it this week."
    assert decision.change.status is None  # still open, in every digest, until ACTIONED


def test_kind_to_draft_starts_a_new_revision_and_sends_every_reviewer_a_fresh_request():
    verb = Command("KIND", "draft", "")
    decision = full_decide(verb, actor(SAM), item(revision=1), RULES, registry=REGISTRY, desk=DESK)
    assert (decision.change.kind, decision.change.status, decision.change.revision) == ("draft", "in_review", 2)
    assert [n.template for n in decision.notices] == ["review-request"] * 3
    assert decision.history.data["kind_from"] == "report" and decision.history.data["kind_to"] == "draft"


def test_kind_from_draft_drops_its_approvals_and_keeps_its_revision():
    verb = Command("KIND", "report", "")
    decision = full_decide(
        verb, actor(SAM), item("draft", "in_review", approvals=(CLERK,)), RULES, registry=REGISTRY, desk=DESK
    )
    assert (decision.change.kind, decision.change.status, decision.change.approvals) == ("report", "open", ())
    assert decision.change.revision is None


def test_respond_records_which_response_and_any_note_below():
    verb = Command("RESPOND", "bins", "We are sorry it happened again.")
    decision = full_decide(verb, actor(SAM), item("enquiry"), RULES, registry=REGISTRY, desk=DESK)
    assert decision.history.data["response"] == "bins"
    assert decision.history.data["response_note"] == "We are sorry it happened again."


MATCHES = [
    ("Pat Staff", ["pat@example.org"]),
    ("pat staff", ["pat@example.org"]),
    ("<PAT@example.org>", ["pat@example.org"]),
    ("Jones", ["pat.jones@example.org"]),
    ("Pat", ["pat@example.org", "pat.jones@example.org"]),
    ("nobody@example.org", []),
    ("", []),
]


@pytest.mark.parametrize("wanted, found", MATCHES)
def test_roster_match_by_address_whole_name_or_every_word(wanted, found):
    assert [p.email for p in roster_match(wanted, PEOPLE)] == found
