"""Pure tests of intake.decisions.decide: the state machine and who may do what (no database)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from intake.accounts import RegisteredAccount
from intake.commands import default_registry
from intake.decisions import Actor, Change, ItemState, Rules, Ruling, judge
from intake.decisions import decide as full_decide
from intake.notices import Addressee, Audience, Desk, Effect, Notice, Tell, Thread, notices
from intake.replies import Command
from intake.vocab import FINAL as FINAL_STATES
from intake.vocab import EventKind, Purpose, Status

HELP, TELL_DRAFTER, ASK_DRAFTER = Effect.HELP, Effect.TELL_DRAFTER, Effect.ASK_DRAFTER
TELL_SMAT, READY_TO_POST, FORWARD_TO_SMAT = Effect.TELL_SMAT, Effect.READY_TO_POST, Effect.FORWARD_TO_SMAT
REGISTRY = default_registry()
ACCOUNTS = (RegisteredAccount("facebook", "testham", "https://facebook.com/x"),)  # the register POSTED names
DEFAULT_RULES = Rules(accounts=ACCOUNTS)

CLERK, DEPUTY, SAM, JANE = "clerk@example.org", "deputy@example.org", "sam@example.org", "jane@example.com"
ROLES = {CLERK: "clerk", DEPUTY: "deputy_clerk", SAM: "smat", JANE: "public"}
STATES = ("in_review", "queried", "escalated", "approved", "posted", "rejected", "withdrawn")
FINAL = ("approved", "posted", "rejected", "withdrawn")
assert set(FINAL) == set(FINAL_STATES)
REF = "SMAT-2026-0001"

# A well-formed use of each verb.
COMMANDS = {
    "APPROVE": Command("APPROVE", "", ""),
    "REJECT": Command("REJECT", "too political", ""),
    "EDIT": Command("EDIT", "", "New text of the post."),
    "QUERY": Command("QUERY", "who took the photo?", ""),
    "ESCALATE": Command("ESCALATE", "", ""),
    "POSTED": Command("POSTED", "Facebook https://facebook.com/x/1", ""),
    "WITHDRAW": Command("WITHDRAW", "", ""),
    "HELP": Command("HELP", "", ""),
}


def actor(email: str = SAM, **kw) -> Actor:
    """Someone replying with their own, fresh, unused key (override any fact)."""
    fields = {"role": ROLES.get(email, "public"), "key_holder": email, "on_roster": email in (CLERK, DEPUTY, SAM)}
    fields.update(kw)
    return Actor(email=email, **fields)


def item(status: str = "in_review", **kw) -> ItemState:
    fields = {"ref": REF, "kind": "draft", "status": status, "sender": JANE}
    fields.update(kw)
    return ItemState(**fields)


def decide(command, person, state, rules):
    """The verdict alone (the consequences are tabled at the end of this file); the register as the desk has it."""
    return judge(command, person, state, registered(rules), REGISTRY)


def registered(rules: Rules) -> Rules:
    """The rules with the account register POSTED names, as the reply step passes them."""
    return rules if rules.accounts else dataclasses.replace(rules, accounts=ACCOUNTS)


def rule(verb: str, by: str = SAM, status: str = "in_review", rules: Rules = DEFAULT_RULES, **item_kw):
    return decide(COMMANDS[verb], actor(by), item(status, **item_kw), rules)


# --------------------------------------------------------------------------- the state machine

# verb -> {state: new status for a SMAT member, new status for the Clerk}; None: refused.
# WITHDRAW is the drafter's (both columns: the drafter).
MACHINE: dict[str, dict[str, tuple[str | None, str | None]]] = {
    "APPROVE": {
        "in_review": ("approved", "approved"),
        "queried": ("approved", "approved"),
        "escalated": (None, "approved"),
        **{s: (None, None) for s in FINAL},
    },
    "REJECT": {
        "in_review": ("rejected", "rejected"),
        "queried": ("rejected", "rejected"),
        "escalated": (None, "rejected"),
        **{s: (None, None) for s in FINAL},
    },
    "EDIT": {
        "in_review": ("in_review", "in_review"),
        "queried": ("in_review", "in_review"),
        "escalated": ("escalated", "escalated"),
        **{s: (None, None) for s in FINAL},
    },
    "QUERY": {
        "in_review": ("queried", "queried"),
        "queried": ("queried", "queried"),
        "escalated": (None, "queried"),
        **{s: (None, None) for s in FINAL},
    },
    "ESCALATE": {
        "in_review": ("escalated", "escalated"),
        "queried": ("escalated", "escalated"),
        "escalated": (None, None),
        **{s: (None, None) for s in FINAL},
    },
    "POSTED": {**{s: (None, None) for s in STATES}, "approved": ("posted", "posted")},
    "WITHDRAW": {
        **{s: ("withdrawn", "withdrawn") for s in ("in_review", "queried", "escalated", "approved")},
        **{s: (None, None) for s in ("posted", "rejected", "withdrawn")},
    },
}
CASES = [
    (verb, status, who, outcome)
    for verb, table in MACHINE.items()
    for status, outcomes in table.items()
    for who, outcome in zip((SAM, CLERK), outcomes, strict=True)
]


@pytest.mark.parametrize(
    "verb, status, who, new_status", CASES, ids=[f"{v}-{s}-{w.split('@')[0]}-{n or 'refused'}" for v, s, w, n in CASES]
)
def test_state_machine(verb, status, who, new_status):
    by = JANE if verb == "WITHDRAW" else who
    ruling = decide(COMMANDS[verb], actor(by), item(status), Rules())
    assert ruling.verb == verb
    if new_status is None:
        assert not ruling.accepted
        assert ruling.reason
        assert ruling.effects == {HELP}
        assert ruling.new_status is None and not ruling.decisive
    else:
        assert ruling.accepted, ruling.reason
        assert ruling.new_status == new_status
        assert ruling.decisive
        assert HELP not in ruling.effects


def test_every_verb_and_state_is_in_the_table():
    assert set(MACHINE) == set(COMMANDS) - {"HELP"}
    for verb, table in MACHINE.items():
        assert set(table) == set(STATES), verb


@pytest.mark.parametrize("status", STATES)
@pytest.mark.parametrize("who", [SAM, JANE, "mallory@example.net"])
def test_help_is_answered_for_anyone_in_any_state_and_changes_nothing(status, who):
    ruling = decide(COMMANDS["HELP"], actor(who), item(status), Rules())
    assert ruling.accepted and ruling.effects == {HELP}
    assert ruling.new_status is None and ruling.new_text is None and not ruling.decisive


@pytest.mark.parametrize(
    "verb, status, effects",
    [
        ("APPROVE", "in_review", {TELL_DRAFTER, READY_TO_POST}),
        ("REJECT", "in_review", {TELL_DRAFTER, TELL_SMAT}),
        ("EDIT", "in_review", {TELL_DRAFTER, Effect.REVIEW_AGAIN}),  # the new text, with new keys, to everyone
        ("QUERY", "in_review", {ASK_DRAFTER, TELL_SMAT}),
        ("ESCALATE", "in_review", {TELL_SMAT}),
        ("POSTED", "approved", {TELL_SMAT, TELL_DRAFTER}),
    ],
)
def test_who_is_told_of_each_decision(verb, status, effects):
    assert rule(verb, status=status).effects == effects


def test_the_drafter_is_told_of_a_withdrawal_and_smat_too():
    ruling = rule("WITHDRAW", by=JANE)
    assert ruling.effects == {TELL_SMAT, Effect.CONFIRM_TO_DRAFTER}


# --------------------------------------------------------------------------- who may decide

REFUSALS = [
    (
        "member-of-the-public",
        actor("mallory@example.net"),
        "only the Town Clerk, the Deputy Town Clerk and SMAT members",
    ),
    (
        "councillor",
        actor("cllr@example.org", role="councillor"),
        "only the Town Clerk, the Deputy Town Clerk and SMAT members",
    ),
    ("staff", actor("pat@example.org", role="staff"), "only the Town Clerk, the Deputy Town Clerk and SMAT members"),
    ("former-member", actor("gone@example.org", role="former"), "no longer an active member"),
    (
        "key-for-another-item",
        actor(SAM, key_item_conflict="SMAT-2026-0002"),
        f"belongs to {REF}, but the subject names SMAT-2026-0002",
    ),
    ("key-of-another-member", actor(DEPUTY, key_holder=SAM), "sent to another SMAT member"),
    ("expired-key", actor(SAM, key_expired=True), "has expired"),
    (
        "no-key-not-authenticated",
        actor(CLERK, key_holder=None, matched_by="subject"),
        "reply to your review request to decide",
    ),
    (
        "no-key-authenticated",
        actor(CLERK, key_holder=None, matched_by="subject", authenticated=True),
        "reply to your review request to decide",
    ),
    (
        "repeated-subject-header",
        actor(CLERK, repeated_headers=("subject",), authenticated=True),
        "more than one Subject header",
    ),
    ("clerk-role-but-another-members-key", actor(CLERK, key_holder=SAM), "sent to another SMAT member"),
]


@pytest.mark.parametrize("verb", ["APPROVE", "REJECT", "EDIT", "QUERY", "ESCALATE"])
@pytest.mark.parametrize(
    "who, reason", [(name, reason) for name, _, reason in REFUSALS], ids=[name for name, _, _ in REFUSALS]
)
def test_authority_refusals_apply_to_every_smat_command(verb, who, reason):
    person = {name: a for name, a, _ in REFUSALS}[who]
    ruling = decide(COMMANDS[verb], person, item(), Rules())
    assert not ruling.accepted
    assert reason in ruling.reason
    assert ruling.effects == {HELP}


def test_posted_needs_authority_too():
    ruling = decide(COMMANDS["POSTED"], actor("cllr@example.org", role="councillor"), item("approved"), Rules())
    assert not ruling.accepted and "only the Town Clerk" in ruling.reason


@pytest.mark.parametrize(
    "person, rules, accepted, reason",
    [
        (
            actor(SAM),
            Rules(require_authenticated_replies=True),
            False,
            "did not confirm this message came from you (dmarc=none)",
        ),
        (actor(SAM, authenticated=True), Rules(require_authenticated_replies=True), True, ""),
        # Authentication is a second factor on top of a key, never a substitute for one.
        (
            actor(SAM, key_holder=None, matched_by="subject", authenticated=True),
            Rules(),
            False,
            "reply to your review request to decide",
        ),
        (
            actor(SAM, key_holder=None, matched_by="subject", authenticated=True),
            Rules(require_authenticated_replies=True),
            False,
            "reply to your review request to decide",
        ),
        (actor(SAM, key_holder="Sam@Example.ORG"), Rules(), True, ""),
    ],
    ids=[
        "required-missing",
        "required-present",
        "subject-authenticated",
        "subject-authenticated-required",
        "key-holder-case",
    ],
)
def test_authentication(person, rules, accepted, reason):
    person = Actor(**{**person.__dict__, "authentication_reason": person.authentication_reason or "dmarc=none"})
    ruling = decide(COMMANDS["APPROVE"], person, item(), rules)
    assert ruling.accepted is accepted
    assert reason in ruling.reason


def test_a_key_cannot_make_the_same_decision_twice_but_may_make_another():
    used = actor(SAM, key_used_for=frozenset({"ESCALATE"}))
    assert "already been used to escalate" in decide(COMMANDS["ESCALATE"], used, item(), Rules()).reason
    assert decide(COMMANDS["QUERY"], used, item(), Rules()).accepted


def test_a_drafter_cannot_approve_their_own_draft():
    ruling = decide(COMMANDS["APPROVE"], actor(SAM), item(sender="Sam@Example.org"), Rules())
    assert not ruling.accepted and "your own draft" in ruling.reason


@pytest.mark.parametrize("who, accepted", [(SAM, False), (CLERK, True), (DEPUTY, True)])
def test_a_high_severity_flag_needs_the_clerk_or_deputy(who, accepted):
    ruling = decide(COMMANDS["APPROVE"], actor(who), item(high_flags=True), Rules())
    assert ruling.accepted is accepted
    if not accepted:
        assert "high-severity flag" in ruling.reason


def test_commands_for_drafts_are_refused_on_reports_and_enquiries():
    for kind in ("report", "enquiry"):
        ruling = decide(COMMANDS["APPROVE"], actor(CLERK), item("open", kind=kind), Rules())
        article = "an" if kind == "enquiry" else "a"
        assert not ruling.accepted and f"is {article} {kind}, not a draft; APPROVE applies to drafts" in ruling.reason


# --------------------------------------------------------------------------- approvals


def test_approvals_required_two_needs_two_different_members():
    rules = Rules(approvals_required=2)
    first = decide(COMMANDS["APPROVE"], actor(SAM), item(), rules)
    assert first.accepted and first.new_status is None and first.approvals == (SAM,)
    assert first.effects == {TELL_SMAT} and first.decisive
    again = decide(COMMANDS["APPROVE"], actor(SAM), item(approvals=(SAM,)), rules)
    assert not again.accepted and again.new_status is None and "already approved" in again.reason
    second = decide(COMMANDS["APPROVE"], actor(CLERK), item(approvals=(SAM,)), rules)
    assert second.new_status == "approved" and second.approvals == (SAM, CLERK)
    assert second.effects == {TELL_DRAFTER, READY_TO_POST}


def test_an_edit_clears_the_approvals():
    ruling = decide(COMMANDS["EDIT"], actor(SAM), item(approvals=(CLERK,)), Rules(approvals_required=2))
    assert ruling.accepted and ruling.approvals == ()


@pytest.mark.parametrize("verb", ["APPROVE", "REJECT", "EDIT", "QUERY", "ESCALATE"])
def test_a_quarantined_item_cannot_be_decided_by_reply(verb):
    ruling = rule(verb, status="quarantined")
    assert not ruling.accepted and "the Town Clerk decides what happens to it" in ruling.reason


def test_a_query_remembers_where_the_answer_returns_the_item():
    assert rule("QUERY", by=CLERK, status="escalated").returns_to == Status.ESCALATED
    assert rule("QUERY", status="in_review").returns_to == Status.IN_REVIEW
    assert rule("QUERY", status="queried").returns_to is None  # a second question: still back to where it was


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    "command, reason",
    [
        (Command("REJECT", "", ""), "a reason is required"),
        (Command("EDIT", "", ""), "EDIT needs the new text"),
        (Command("QUERY", "", ""), "QUERY needs the question"),
    ],
)
def test_commands_that_need_an_argument_ask_for_it(command, reason):
    ruling = decide(command, actor(SAM), item(), Rules())
    assert not ruling.accepted and reason in ruling.reason and ruling.effects == {HELP}


def test_posted_needs_the_account():
    ruling = decide(Command("POSTED", "", ""), actor(SAM), item("approved"), Rules())
    assert not ruling.accepted and "POSTED needs the account" in ruling.reason


@pytest.mark.parametrize(
    "argument, accepted",
    [
        ("Facebook https://facebook.com/x/posts/1", True),  # the platform: the council's only account there
        ("https://www.facebook.com/x/posts/1", True),  # a link under the account's address
        ("@testham", True),  # the handle
        ("Twitter https://x.com/someone/1", False),  # not the council's
        ("https://facebook.com/someone-else/posts/1", False),
    ],
)
def test_posted_must_name_a_registered_account(argument, accepted):
    ruling = decide(Command("POSTED", argument, ""), actor(SAM), item("approved"), DEFAULT_RULES)
    assert ruling.accepted is accepted
    if not accepted:
        assert "names none of the council's registered accounts" in ruling.reason
        assert "facebook testham (https://facebook.com/x)" in ruling.reason


def test_posted_with_an_empty_register_says_how_to_fill_it():
    ruling = judge(Command("POSTED", "Facebook", ""), actor(SAM), item("approved"), Rules(), REGISTRY)
    assert not ruling.accepted and "smat-intake accounts add" in ruling.reason


def test_a_reason_or_question_may_be_on_the_following_lines():
    assert decide(Command("REJECT", "", "Too political."), actor(SAM), item(), Rules()).accepted
    assert decide(Command("QUERY", "", "Who took it?"), actor(SAM), item(), Rules()).accepted


def test_edit_text_is_the_rest_of_the_first_line_and_the_lines_below():
    ruling = decide(Command("EDIT", "Fun run on Sunday!", "Starts 10am.\n\nAll welcome."), actor(SAM), item(), Rules())
    assert ruling.new_text == "Fun run on Sunday!\nStarts 10am.\n\nAll welcome."


# --------------------------------------------------------------------------- already decided


def test_a_later_command_is_told_who_decided_and_when():
    when = datetime(2026, 6, 10, 9, 14, tzinfo=UTC)
    ruling = decide(COMMANDS["REJECT"], actor(DEPUTY), item("approved", decided_by=CLERK, decided_at=when), Rules())
    assert ruling.reason == f"{REF} has already been approved by {CLERK} at 09:14 on 10 June 2026"


# --------------------------------------------------------------------------- the drafter


def test_only_the_drafter_may_withdraw():
    ruling = decide(COMMANDS["WITHDRAW"], actor(CLERK), item(), Rules())
    assert not ruling.accepted and "only the person who sent the draft" in ruling.reason


@pytest.mark.parametrize(
    "person, accepted",
    [
        (actor(JANE), True),  # their own key (the query mail's)
        (actor(JANE, key=None, matched_by="message-id"), True),  # threaded under our acknowledgement, sent to her
        (actor(JANE, key_holder=SAM), False),  # a review request forwarded to the drafter
        (actor(JANE, key_holder=None, matched_by="subject"), False),  # only the subject tag: anyone can write that
        (actor(JANE, key_holder=None, matched_by="subject", authenticated=True), False),  # no key, no withdrawal
    ],
    ids=["own-key", "acknowledgement", "someone-elses-key", "subject-only", "subject-authenticated"],
)
def test_a_withdrawal_must_be_tied_to_mail_sent_to_the_drafter(person, accepted):
    assert decide(COMMANDS["WITHDRAW"], person, item(), Rules()).accepted is accepted


def test_the_drafters_answer_to_a_query_goes_back_to_review_and_to_smat():
    ruling = decide(None, actor(JANE), item("queried"), Rules())
    assert (ruling.verb, ruling.accepted, ruling.new_status, ruling.effects) == (
        "ANSWER",
        True,
        "in_review",
        {FORWARD_TO_SMAT},
    )


def test_a_drafters_note_at_other_times_goes_to_smat_and_changes_nothing():
    ruling = decide(None, actor(JANE), item("in_review"), Rules())
    assert (ruling.verb, ruling.accepted, ruling.new_status, ruling.effects) == ("NOTE", True, None, {FORWARD_TO_SMAT})


def test_a_smat_member_who_drafted_can_answer_a_query_about_their_draft():
    ruling = decide(None, actor(SAM), item("queried", sender=SAM), Rules())
    assert (ruling.verb, ruling.new_status, ruling.effects) == ("ANSWER", "in_review", {FORWARD_TO_SMAT})


@pytest.mark.parametrize("who", [SAM, CLERK, "mallory@example.net"])
def test_anything_not_understood_gets_the_help_and_changes_nothing(who):
    ruling = decide(None, actor(who), item(), Rules())
    assert not ruling.accepted and ruling.effects == {HELP} and ruling.new_status is None
    assert "no command was recognised" in ruling.reason


def test_the_drafters_answer_returns_an_escalated_item_to_the_clerk():
    ruling = decide(None, actor(JANE), item("queried", status_before_query="escalated"), Rules())
    assert (ruling.verb, ruling.new_status) == ("ANSWER", "escalated")


# --------------------------------------------------------------------------- every consequence, as data

US = "smat.info@example.org"
REVIEWERS = (
    Addressee(CLERK, "Town Clerk", "clerk"),
    Addressee(DEPUTY, "Deputy Clerk", "deputy_clerk"),
    Addressee(SAM, "Sam Smat", "smat"),
)
DESK = Desk(US, REVIEWERS)


def consequences(command, person, state, rules=DEFAULT_RULES, text=""):
    return full_decide(command, person, state, registered(rules), registry=REGISTRY, desk=DESK, text=text)


def told(decision) -> list[tuple[str, str, str]]:
    """(template, recipient, purpose) of each notice, in order."""
    return [(n.template, n.to.email, n.purpose) for n in decision.notices]


SMAT_BUT = {who: [r.email for r in REVIEWERS if r.email != who] for who in (CLERK, DEPUTY, SAM)}

# verb, state, by -> the notices, in order: (template, to, purpose)
NOTICES = [
    (
        "APPROVE",
        "in_review",
        SAM,
        [("decision-to-drafter", JANE, "decision")] + [("ready-to-post", r.email, "ready-to-post") for r in REVIEWERS],
    ),
    (
        "REJECT",
        "in_review",
        DEPUTY,
        [("decision-to-drafter", JANE, "decision")] + [("decision-to-smat", r, "decision") for r in SMAT_BUT[DEPUTY]],
    ),
    (
        "EDIT",
        "in_review",
        SAM,
        # every reviewer, the editor too, is sent the new text with a key for it
        [("decision-to-drafter", JANE, "decision")]
        + [("review-request", r.email, "review-request") for r in REVIEWERS],
    ),
    (
        "QUERY",
        "in_review",
        SAM,
        [("query", JANE, "query")] + [("decision-to-smat", r, "decision") for r in SMAT_BUT[SAM]],
    ),
    ("ESCALATE", "in_review", SAM, [("decision-to-smat", r, "decision") for r in SMAT_BUT[SAM]]),
    (
        "POSTED",
        "approved",
        CLERK,
        [("decision-to-drafter", JANE, "decision")] + [("decision-to-smat", r, "decision") for r in SMAT_BUT[CLERK]],
    ),
    (
        "WITHDRAW",
        "in_review",
        JANE,
        # she hears it took effect, in answer to her reply; every member hears of it
        [("decision-to-drafter", JANE, "decision")] + [("decision-to-smat", r.email, "decision") for r in REVIEWERS],
    ),
    ("HELP", "in_review", SAM, [("help", SAM, "help")]),
]


@pytest.mark.parametrize("verb, status, by, notices", NOTICES, ids=[n[0] for n in NOTICES])
def test_who_is_told_of_each_decision_and_with_what(verb, status, by, notices):
    decision = consequences(COMMANDS[verb], actor(by), item(status))
    assert told(decision) == notices
    ready = [n for n in decision.notices if n.template in ("ready-to-post", "review-request")]
    assert all(n.pictures for n in ready) and not any(n.pictures for n in decision.notices if n not in ready)


def test_the_drafters_answer_goes_to_every_other_member_threaded_under_our_last_mail():
    decision = consequences(None, actor(SAM), item("queried", sender=SAM), text="I took it.")
    assert told(decision) == [("drafter-reply", r, "query") for r in SMAT_BUT[SAM]]
    assert {n.thread for n in decision.notices} == {Thread.LAST}


def test_help_answers_the_reply_itself_and_the_drafter_hears_under_our_last_mail_or_their_own():
    assert consequences(COMMANDS["HELP"], actor(SAM), item()).notices[0].thread == Thread.REPLY
    [to_jane] = [n for n in consequences(COMMANDS["QUERY"], actor(SAM), item()).notices if n.to.email == JANE]
    assert to_jane.thread == Thread.LAST_OR_FIRST


@pytest.mark.parametrize(
    "person, state, helped",
    [
        (actor(SAM), item("posted"), True),
        (actor("cllr@example.org", role="councillor", on_roster=True), item("posted"), True),  # on the roster
        (actor(JANE), item("posted"), True),  # the drafter, though not on the roster
        (actor("mallory@example.net"), item("posted"), False),  # a stranger: no mail to whoever they claim to be
        (actor(US, on_roster=True), item("posted"), False),  # never to ourselves
        (actor("jöns@example.org", on_roster=True), item("posted"), False),  # no SMTPUTF8 assumed
        (actor(SAM, refused_lately=frozenset({"__REASON__"})), item("posted"), False),  # told once a day
        (actor(SAM, refused_lately=frozenset({"another reason"})), item("posted"), True),
    ],
    ids=["member", "councillor", "drafter", "stranger", "ourselves", "non-ascii", "told-today", "told-other-reason"],
)
def test_a_refusal_is_explained_only_to_people_we_know_and_once_a_day_per_reason(person, state, helped):
    # WITHDRAW of a posted draft: refused for the drafter and for everyone else alike.
    reason = judge(COMMANDS["WITHDRAW"], person, state, Rules(), REGISTRY).reason
    if person.refused_lately == {"__REASON__"}:
        person = dataclasses.replace(person, refused_lately=frozenset({reason}))
    decision = consequences(COMMANDS["WITHDRAW"], person, state)
    assert not decision.ruling.accepted
    assert told(decision) == ([("help", person.email, "help")] if helped else [])


def test_help_asked_for_is_answered_even_after_a_refusal_today():
    person = actor(SAM, refused_lately=frozenset({""}))
    assert told(consequences(COMMANDS["HELP"], person, item())) == [("help", SAM, "help")]


@pytest.mark.parametrize("sender", ["", "jöns@example.org"], ids=["no-address", "non-ascii"])
def test_a_drafter_we_cannot_write_to_is_not_sent_the_decision_or_the_question(sender):
    for verb in ("REJECT", "QUERY"):
        decision = consequences(COMMANDS[verb], actor(SAM), item(sender=sender))
        assert decision.ruling.accepted
        assert [n for n in decision.notices if n.to.email == sender] == []
        assert {n.to.email for n in decision.notices} == set(SMAT_BUT[SAM])


def test_the_change_an_approval_makes_is_the_approvals_who_decided_and_the_key_spent():
    change = consequences(COMMANDS["APPROVE"], actor(SAM, key="k1"), item(approvals=(CLERK,))).change
    assert change == Change(
        status="approved", approvals=(CLERK, SAM), decided_by=SAM, key_spent_for="APPROVE", touched=True
    )
    partial = consequences(COMMANDS["APPROVE"], actor(SAM, key="k1"), item(), Rules(approvals_required=2)).change
    assert (partial.status, partial.approvals, partial.decided_by) == (None, (SAM,), None)


@pytest.mark.parametrize(
    "command, person, state, change",
    [
        (COMMANDS["EDIT"], actor(SAM), item(approvals=(CLERK,)), {"approvals": (), "text": "New text of the post."}),
        (COMMANDS["QUERY"], actor(CLERK), item("escalated"), {"status_before_query": "escalated"}),
        (COMMANDS["QUERY"], actor(SAM), item("queried"), {"status_before_query": None}),
        (None, actor(JANE), item("queried"), {"status": "in_review", "decided_by": None, "key_spent_for": None}),
        (COMMANDS["HELP"], actor(SAM, key="k1"), item(), {"status": None, "key_spent_for": "HELP"}),
        (COMMANDS["WITHDRAW"], actor(JANE), item(), {"status": "withdrawn", "decided_by": JANE}),
        (COMMANDS["REJECT"], actor(SAM), item(), {"decided_by": SAM, "key_spent_for": None}),  # no key: nothing spent
    ],
    ids=["edit", "query-escalated", "query-again", "answer", "help", "withdraw", "reject-without-key"],
)
def test_what_each_accepted_command_changes(command, person, state, change):
    made = consequences(command, person, state).change
    assert made.touched
    for name, value in change.items():
        assert getattr(made, name) == value, name


def test_a_refusal_changes_nothing():
    assert consequences(COMMANDS["APPROVE"], actor(SAM, key="k1", key_expired=True), item()).change == Change()


def test_the_history_line_of_a_decision_and_of_a_drafters_answer():
    person = actor(SAM, key="k1", matched_by="message-id", authenticated=True)
    line = consequences(Command("REJECT", "the date is wrong", ""), person, item()).history
    assert line.kind == EventKind.DECISION
    assert line.detail == "REJECT accepted: the date is wrong"
    assert line.data == {
        "command": "REJECT",
        "argument": "the date is wrong",
        "accepted": True,
        "reason": "the date is wrong",
        "new_status": "rejected",
        "from_status": "in_review",
        "key": "k1",
        "matched_by": "message-id",
        "authenticated": True,
        "revision": 1,
    }
    refused = consequences(None, actor(SAM), item(), text="Thanks\\nall").history
    assert refused.detail == "unrecognised reply refused: no command was recognised at the start of the reply"
    assert (refused.data["command"], refused.data["argument"], refused.data["new_status"]) == ("", "Thanks\\nall", None)
    answer = consequences(
        None, actor(JANE, matched_by="message-id"), item("queried"), text="Yes.\n\nAll signed."
    ).history
    assert (answer.kind, answer.detail, answer.data) == (
        EventKind.DRAFTER_REPLY,
        "Yes. All signed.",
        {"matched_by": "message-id"},
    )


def test_a_new_kind_of_notice_is_only_its_declaration():
    thanks = Tell("thank-you", Purpose.ACKNOWLEDGEMENT, Audience.DRAFTER, "the drafter is thanked")
    ruling = Ruling("THANK", accepted=True, effects=frozenset({thanks, Effect.TELL_SMAT}))
    assert notices(ruling, actor(SAM), item(), DESK) == (
        Notice("thank-you", Purpose.ACKNOWLEDGEMENT, Addressee(JANE), "the drafter is thanked"),
        *(
            Notice("decision-to-smat", Purpose.DECISION, r, Effect.TELL_SMAT.reason)
            for r in REVIEWERS
            if r.email != SAM
        ),
    )


# --------------------------------------------------------------------------- issue 7: keys, revisions, persons


def test_an_approval_must_come_with_a_key_sent_with_the_present_text():
    assert rule("APPROVE", revision=1).accepted  # the first text, the first key
    old = decide(COMMANDS["APPROVE"], actor(SAM, key_revision=1), item(revision=2), Rules())
    assert not old.accepted and "has changed since this request was sent" in old.reason
    unkeyed = decide(COMMANDS["APPROVE"], actor(SAM, key_revision=None), item(), Rules())  # mail sent without a key
    assert not unkeyed.accepted
    assert decide(COMMANDS["APPROVE"], actor(SAM, key_revision=2), item(revision=2), Rules()).accepted


@pytest.mark.parametrize("verb", ["REJECT", "QUERY", "EDIT", "ESCALATE"])
def test_other_commands_on_an_older_text_still_count(verb):
    assert decide(COMMANDS[verb], actor(SAM, key_revision=1), item(revision=3), Rules()).accepted


def test_an_edit_starts_the_next_revision():
    change = consequences(COMMANDS["EDIT"], actor(SAM), item(revision=2)).change
    assert (change.revision, change.approvals) == (3, ())
    assert consequences(COMMANDS["REJECT"], actor(SAM), item(revision=2)).change.revision is None


def test_a_member_is_the_drafter_from_any_of_their_addresses():
    mine = item(sender="sam+drafts@example.org", sender_person=SAM)
    ruling = decide(COMMANDS["APPROVE"], actor(SAM, person=SAM), mine, Rules())
    assert not ruling.accepted and "your own draft" in ruling.reason


def test_approvals_are_counted_per_person_not_per_address():
    again = decide(
        COMMANDS["APPROVE"],
        actor("dep@example.net", role="deputy_clerk", person=DEPUTY),
        item(approvals=(DEPUTY,)),
        Rules(approvals_required=2),
    )
    assert not again.accepted and "already approved" in again.reason


@pytest.mark.parametrize(
    "person",
    [
        actor(JANE, key_holder=None, matched_by="subject", authenticated=True),
        actor(JANE, key_holder=SAM),
        actor(JANE, repeated_headers=("from",)),
    ],
    ids=["subject-tag", "someone-elses-key", "repeated-from"],
)
@pytest.mark.parametrize("status", ["queried", "in_review"])
def test_a_drafters_answer_or_note_not_tied_to_our_mail_to_them_is_not_relayed(person, status):
    ruling = decide(None, person, item(status), Rules())
    assert not ruling.accepted and ruling.new_status is None and FORWARD_TO_SMAT not in ruling.effects


def test_help_needs_no_key_but_nothing_else_is_done_without_one():
    keyless = actor(SAM, key_holder=None, matched_by="subject")
    assert decide(COMMANDS["HELP"], keyless, item(), Rules()).accepted
    for verb in ("APPROVE", "REJECT", "EDIT", "QUERY", "ESCALATE"):
        assert not decide(COMMANDS[verb], keyless, item(), Rules()).accepted
