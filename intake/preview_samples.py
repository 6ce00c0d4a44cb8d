"""The sample story `smat-intake preview` plays, and the one table of mails it writes out.

The story is a few days at the desk told as steps (a draft arrives, a reviewer replies,
the drafter answers …), played through the real pipeline, so every mail is composed by
the code that composes it in service. `SAMPLES` then picks one mail per kind of mail and
reader: a new template folder needs a row here (the preview reports any folder without one,
and tests/test_preview.py fails on it).
"""

from __future__ import annotations

from dataclasses import dataclass

# The readers a mail is previewed for; "clerk" is the Town Clerk (the Deputy gets the same mail).
READERS = ("resident", "councillor", "staff", "smat", "clerk")


@dataclass(frozen=True)
class Send:
    """Someone writes a new draft, report or question to the intake address."""

    name: str  # names the step, and the mails it causes
    who: str  # a reader, or "resident:<name>" (or "resident:<name> <address>") for another member of the public
    subject: str
    body: str
    item: str  # a label for the item, for the replies that follow
    pictures: int = 0


@dataclass(frozen=True)
class Reply:
    """Someone replies to the newest mail of one kind they had from us about an item."""

    name: str
    who: str
    answering: str  # the template folder of the mail replied to
    item: str
    text: str
    pictures: int = 0


@dataclass(frozen=True)
class SendDigest:
    """The Town Clerk's daily digest is sent (after everything above)."""

    name: str = "digest"


@dataclass(frozen=True)
class SendReport:
    """The monthly committee report for this month is sent (as if the month were over)."""

    name: str = "committee-report"


Step = Send | Reply | SendDigest | SendReport


@dataclass(frozen=True)
class Sample:
    """One mail to write out: the template folder, who reads it, and the step that causes it."""

    template: str
    reader: str
    step: str
    shows: str  # what this example is for, one line

    @property
    def stem(self) -> str:
        """The file name without extension: template--reader--step."""
        return f"{self.template}--{self.reader}--{self.step}"


CHOIR = (
    "Dear SMAT,\n\n"
    "Please could this go on the council's Facebook page and X?\n\n"
    "Draft post:\n"
    "\"What a wonderful evening at the Christmas market! Thank you to St Andrew's Primary School "
    "choir, who sang carols by the Market Square tree. The choir photo has some of the children in "
    'it - the school said it was fine."\n\n'
    "Best wishes,\nJane"
)

SURGERY = (
    "Hello,\n\n"
    "Draft post: Cllr surgery for Ivel Ward residents this Saturday, 10am to 12 noon, at the "
    "library on Chestnut Avenue. No appointment needed.\n\n"
    "Thanks"
)

LIBRARY = (
    "Hi all,\n\n"
    "The library will open late on Thursdays from January, until 7pm. Could we let people know "
    "on Facebook before Christmas?\n\n"
    "Regards"
)

EDITED = (
    "What a wonderful evening at the Christmas market! Thank you to St Andrew's Primary School "
    "choir, who sang carols by the Market Square tree."
)

# Played in this order through the real pipeline; each mail is credited to the step that caused it.
STORY: tuple[Step, ...] = (
    Send("draft", "resident", "Choir at the Christmas market", CHOIR, "choir", pictures=2),
    Send("councillor-draft", "councillor", "Ward surgery on Saturday", SURGERY, "surgery"),
    Send("staff-draft", "staff", "Late opening at the library", LIBRARY, "library"),
    Send(
        "report",
        "resident:Raj Patel <raj.patel.riverside.walk.neighbourhood.watch@biggleswade-community-groups.example.org>",
        "Report: broken bench by the river",
        "The second bench past the footbridge on Riverside Walk has a broken slat; a child could trap a hand.",
        "bench",
    ),
    Send(
        "enquiry",
        "resident:Mo Hughes",
        "Question: next litter pick",
        "When is the next volunteer litter pick, and who do I contact to join?",
        "litter",
    ),
    Reply(
        "query",
        "smat",
        "review-request",
        "choir",
        "QUERY Has the school got written consent from a parent or guardian of every child in the photo?",
    ),
    Reply(
        "answer",
        "resident",
        "query",
        "choir",
        "Yes: the school collected a signed form from the parents of every child in the choir. "
        "Here is another photo from the back of the crowd, with no faces.",
        pictures=1,
    ),
    Reply("edit", "smat", "review-request", "choir", f"EDIT\n{EDITED}"),
    Reply("approve", "clerk", "review-request", "choir", "APPROVE Good to go on Facebook and X."),
    Reply("posted", "smat", "ready-to-post", "choir", "POSTED Facebook https://www.facebook.com/example/posts/1"),
    Reply("help", "smat", "review-request", "surgery", "HELP"),
    Reply(
        "unrecognised",
        "clerk",
        "review-request",
        "surgery",
        "Has the councillor checked the surgery times with the library?",
    ),
    Reply("withdraw", "councillor", "acknowledgement", "surgery", "WITHDRAW"),
    Reply(
        "escalate",
        "smat",
        "review-request",
        "library",
        "ESCALATE The new opening hours are not agreed yet; the Clerk should decide.",
    ),
    Reply("reject", "clerk", "review-request", "library", "REJECT The hours go to the January committee first."),
    Reply("assign", "smat", "review-request", "bench", "ASSIGN {staff}\nPlease have a look this week."),
    Reply("actioned", "smat", "review-request", "bench", "ACTIONED The broken slat was replaced on Tuesday."),
    Reply("respond", "smat", "review-request", "litter", "RESPOND events"),
    Send("roster-add", "clerk", "Roster", "ADD SMAT Sam Newman <sam.newman@example.org>", ""),
    Reply("roster-confirm", "clerk", "roster-confirmation", "", "CONFIRM"),
    SendDigest(),
    SendReport(),
)

# One row per mail written out: every template folder needs at least one (for each reader it differs for).
SAMPLES: tuple[Sample, ...] = (
    Sample("acknowledgement", "resident", "draft", "a resident's draft acknowledged"),
    Sample("acknowledgement", "councillor", "councillor-draft", "a councillor's draft acknowledged"),
    Sample("acknowledgement", "staff", "staff-draft", "a member of staff's draft acknowledged"),
    Sample("acknowledgement", "resident", "report", "a resident's report acknowledged"),
    Sample("acknowledgement", "resident", "enquiry", "a resident's question acknowledged"),
    Sample("review-request", "smat", "draft", "a new draft with pictures and policy flags, to a SMAT member"),
    Sample("review-request", "clerk", "draft", "the same, to the Town Clerk"),
    Sample("review-request", "clerk", "edit", "the draft again after an EDIT"),
    Sample("review-request", "smat", "report", "a resident's report, to a SMAT member"),
    Sample("query", "resident", "query", "a reviewer's question to the drafter"),
    Sample("drafter-reply", "clerk", "answer", "the drafter's answer, relayed to the other reviewers"),
    Sample("decision-to-drafter", "resident", "edit", "the drafter told of an edit"),
    Sample("decision-to-drafter", "resident", "approve", "the drafter told of the approval"),
    Sample("decision-to-drafter", "resident", "posted", "the drafter told where it was posted"),
    Sample("decision-to-drafter", "staff", "reject", "the drafter told it was not approved"),
    Sample("decision-to-smat", "clerk", "query", "the other reviewers told of a question to the drafter"),
    Sample("decision-to-smat", "smat", "reject", "the other reviewers told of a rejection"),
    Sample("decision-to-smat", "clerk", "escalate", "the Clerk told of an escalation"),
    Sample("decision-to-smat", "smat", "withdraw", "the reviewers told the drafter withdrew"),
    Sample("ready-to-post", "smat", "approve", "the approved post, to a SMAT member"),
    Sample("ready-to-post", "clerk", "approve", "the approved post, to the approver"),
    Sample("help", "smat", "help", "HELP answered"),
    Sample("help", "clerk", "unrecognised", "a reply that was no command"),
    Sample("assigned", "staff", "assign", "a report assigned to a member of staff"),
    Sample("report-actioned", "resident", "actioned", "the reporter told what was done"),
    Sample("standard-response", "resident", "respond", "a standard response sent to an enquirer"),
    Sample("roster-confirmation", "clerk", "roster-add", "the Clerk asked to confirm a roster change by email"),
    Sample("roster", "clerk", "roster-confirm", "the roster change made"),
    Sample("digest", "clerk", "digest", "the Town Clerk's daily digest"),
    Sample("committee-report", "clerk", "committee-report", "the monthly report for the committee"),
)
