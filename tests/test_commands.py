"""The verb registry: one declaration per command, and the lists each reader is shown (no database)."""

from __future__ import annotations

import itertools

import pytest

from intake.accounts import RegisteredAccount
from intake.commands import default_registry
from intake.commands.base import Registry, Verb
from intake.decisions import Actor, ItemState, Rules, Ruling, judge
from intake.notices import Addressee
from intake.replies import Command, read_command
from intake.vocab import FINAL, OPEN_DRAFT, Kind, Role, Status

REGISTRY = default_registry()
ACCOUNTS = (RegisteredAccount("facebook", "x"),)  # the register POSTED names
DRAFTER = "jane@example.com"
READER = "reader@example.org"

# A well-formed use of each verb, so that only authority, kind and state can refuse it.
GOOD = {
    "APPROVE": Command("APPROVE", "", ""),
    "REJECT": Command("REJECT", "too political", ""),
    "EDIT": Command("EDIT", "", "New text."),
    "QUERY": Command("QUERY", "who took the photo?", ""),
    "ESCALATE": Command("ESCALATE", "", ""),
    "POSTED": Command("POSTED", "Facebook https://facebook.com/x/1", ""),
    "RESPOND": Command("RESPOND", "bins", ""),
    "ACTIONED": Command("ACTIONED", "the bench was repaired", ""),
    "ASSIGN": Command("ASSIGN", "Pat Staff", ""),
    "KIND": Command("KIND", "report", ""),  # made another kind than the item's in _ruling
    "WITHDRAW": Command("WITHDRAW", "", ""),
    "HELP": Command("HELP", "", ""),
}
RULES = Rules(
    accounts=ACCOUNTS,
    people=(Addressee("pat@example.org", "Pat Staff", "staff"),),
    responses={"bins": "Bins"},
)


def names(verbs: tuple[Verb, ...]) -> list[str]:
    return [v.name for v in verbs]


def test_the_default_registry_lists_every_verb_once_with_help_last():
    assert names(REGISTRY.verbs) == [
        "APPROVE",
        "REJECT",
        "EDIT",
        "QUERY",
        "ESCALATE",
        "POSTED",
        "RESPOND",
        "ACTIONED",
        "ASSIGN",
        "KIND",
        "WITHDRAW",
        "HELP",
    ]
    assert set(GOOD) == {v.name for v in REGISTRY}
    for verb in REGISTRY:
        assert verb.usage.startswith(verb.name) and verb.meaning and verb.past and verb.example
        assert read_command(verb.example, REGISTRY) is not None
        assert read_command(verb.example, REGISTRY).verb == verb.name  # type: ignore[union-attr]


LISTS = [
    ("smat", False, "draft", "in_review", ["APPROVE", "REJECT", "EDIT", "QUERY", "ESCALATE", "KIND", "HELP"]),
    ("clerk", False, "draft", "queried", ["APPROVE", "REJECT", "EDIT", "QUERY", "ESCALATE", "KIND", "HELP"]),
    ("smat", False, "draft", "escalated", ["EDIT", "HELP"]),
    ("deputy_clerk", False, "draft", "escalated", ["APPROVE", "REJECT", "EDIT", "QUERY", "KIND", "HELP"]),
    ("smat", False, "draft", "approved", ["POSTED", "HELP"]),
    ("clerk", False, "draft", "posted", ["HELP"]),
    ("smat", False, "draft", "quarantined", ["HELP"]),
    ("clerk", False, "enquiry", "open", ["RESPOND", "KIND", "HELP"]),
    ("clerk", False, "enquiry", "answered", ["HELP"]),
    ("smat", False, "report", "open", ["ACTIONED", "ASSIGN", "KIND", "HELP"]),
    ("smat", False, "report", "actioned", ["HELP"]),
    ("staff", False, "report", "open", ["HELP"]),  # an assignee who is not on SMAT cannot close it
    ("public", True, "report", "open", ["WITHDRAW", "HELP"]),
    ("public", True, "report", "actioned", ["HELP"]),
    ("public", True, "draft", "in_review", ["WITHDRAW", "HELP"]),
    ("public", True, "draft", "approved", ["WITHDRAW", "HELP"]),
    ("public", True, "draft", "posted", ["HELP"]),
    ("smat", True, "draft", "in_review", ["REJECT", "EDIT", "QUERY", "ESCALATE", "KIND", "WITHDRAW", "HELP"]),
    ("councillor", False, "draft", "in_review", ["HELP"]),
    ("former", False, "draft", "in_review", ["HELP"]),
    ("public", False, "draft", "in_review", ["HELP"]),
]


@pytest.mark.parametrize("role, is_drafter, kind, status, listed", LISTS)
def test_each_reader_is_offered_only_the_commands_they_may_use_there(role, is_drafter, kind, status, listed):
    assert names(REGISTRY.available(role, is_drafter, kind, status)) == listed


def _ruling(verb: str, role: str, is_drafter: bool, kind: str, status: str) -> Ruling:
    email = DRAFTER if is_drafter else READER
    actor = Actor(email=email, role=role, on_roster=role != Role.PUBLIC, key="k", key_holder=email, authenticated=True)
    item = ItemState(ref="SMAT-2026-0001", kind=kind, status=status, sender=DRAFTER)
    command = GOOD[verb]
    if verb == "KIND":  # a change to another kind than the item's
        command = Command("KIND", "enquiry" if kind == Kind.REPORT else "report", "")
    return judge(command, actor, item, RULES, REGISTRY)


# The states each kind can be in: drafts move on through review; reports and enquiries are open until dealt with.
KIND_STATES = {
    Kind.DRAFT: OPEN_DRAFT | FINAL | {Status.QUARANTINED},
    Kind.REPORT: frozenset({Status.OPEN, Status.ACTIONED, Status.QUARANTINED}),
    Kind.ENQUIRY: frozenset({Status.OPEN, Status.ANSWERED, Status.QUARANTINED}),
}
assert set().union(*KIND_STATES.values()) == set(Status)
READERS = [
    (role, is_drafter, kind, status)
    for role, is_drafter, kind, status in itertools.product(Role, (False, True), Kind, Status)
    if status in KIND_STATES[kind]
]


@pytest.mark.parametrize("role, is_drafter, kind, status", READERS)
def test_every_command_listed_is_one_the_rules_accept_and_no_other(role, is_drafter, kind, status):
    listed = set(names(REGISTRY.available(role, is_drafter, kind, status)))
    for verb in GOOD:
        ruling = _ruling(verb, role, is_drafter, kind, status)
        accepted = ruling.accepted and ruling.verb == verb
        assert accepted is (verb in listed), (verb, ruling.reason or ruling.verb)


def test_a_spelling_may_belong_to_one_verb_only():
    clash = Verb("APPROVAL", "APPROVAL", "-", "APPROVAL", "-", rule=REGISTRY.verbs[0].rule, aliases=("APPROVED",))
    with pytest.raises(ValueError, match="APPROVED"):
        REGISTRY.adding(clash)


def test_read_command_knows_only_the_registrys_spellings():
    only_help = Registry(tuple(v for v in REGISTRY if v.name == "HELP"))
    assert read_command("APPROVE", only_help) is None
    assert read_command("help me", only_help) == Command("HELP", "me", "")
