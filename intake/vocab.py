"""The service's fixed vocabularies: item kinds and states, roles, history events, mail purposes.

Each is a `StrEnum`, so a member is stored, compared and printed as its plain string value
(the database and the JSON of `items`/`show` keep the strings of interface.md), while the
code names every value once, here.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What a new submission is (design.md)."""

    DRAFT = "draft"
    REPORT = "report"
    ENQUIRY = "enquiry"


class Status(StrEnum):
    """The states an item is in today; only values something sets are listed."""

    IN_REVIEW = "in_review"
    QUERIED = "queried"
    ESCALATED = "escalated"
    APPROVED = "approved"
    POSTED = "posted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    OPEN = "open"  # reports and enquiries, until dealt with
    ACTIONED = "actioned"  # a report a SMAT member has marked done (ACTIONED note): notice served, answered
    ANSWERED = "answered"  # an enquiry sent a standard response (RESPOND key)
    QUARANTINED = "quarantined"


OPEN_DRAFT = frozenset({Status.IN_REVIEW, Status.QUERIED, Status.ESCALATED})
FINAL = frozenset({Status.APPROVED, Status.POSTED, Status.REJECTED, Status.WITHDRAWN})
SETTLED = frozenset({Status.ACTIONED, Status.ANSWERED})  # a report or enquiry dealt with


class Role(StrEnum):
    """A person's role: the roster's roles, the public, and a member no longer active."""

    CLERK = "clerk"
    DEPUTY_CLERK = "deputy_clerk"
    SMAT = "smat"
    COUNCILLOR = "councillor"
    STAFF = "staff"
    PUBLIC = "public"
    FORMER = "former"  # on the roster but inactive: their keys no longer work


ROSTER_ROLES = (Role.CLERK, Role.DEPUTY_CLERK, Role.SMAT, Role.COUNCILLOR, Role.STAFF)
REVIEWER_ROLES = frozenset({Role.CLERK, Role.DEPUTY_CLERK, Role.SMAT})
CLERK_ROLES = frozenset({Role.CLERK, Role.DEPUTY_CLERK})

ROLE_LABELS: dict[str, str] = {
    Role.CLERK: "Town Clerk",
    Role.DEPUTY_CLERK: "Deputy Town Clerk",
    Role.SMAT: "SMAT member",
    Role.COUNCILLOR: "Councillor",
    Role.STAFF: "Council staff",
    Role.PUBLIC: "Member of the public",
}


class Purpose(StrEnum):
    """The `X-SMAT-Purpose` header of mail we send (interface.md), so people can sort it."""

    ACKNOWLEDGEMENT = "acknowledgement"
    REVIEW_REQUEST = "review-request"
    DECISION = "decision"
    QUERY = "query"
    READY_TO_POST = "ready-to-post"
    HELP = "help"
    DIGEST = "digest"  # the Town Clerk's daily digest: about no one item
    ROSTER_CONFIRMATION = "roster-confirmation"  # "reply CONFIRM to make this roster change": keyed
    ROSTER = "roster"  # the answer to a roster command: the change made, waiting or refused
    STANDARD_RESPONSE = "standard-response"  # one of templates/responses/, sent to an enquirer (RESPOND)
    COMMITTEE_REPORT = "report"  # the monthly committee report (Appendix A), as interface.md names it: no one item


class MatchedBy(StrEnum):
    """How a reply was tied to its item."""

    KEY = "key"  # a reply key in the plus-address
    MESSAGE_ID = "message-id"  # our Message-ID in In-Reply-To/References
    SUBJECT = "subject"  # only the [SMAT-…] tag in the subject


class EventKind(StrEnum):
    """The kinds of line in an item's history."""

    RECEIVED = "received"
    QUARANTINED = "quarantined"
    NOT_ACKNOWLEDGED = "not_acknowledged"
    ACKNOWLEDGED = "acknowledged"
    ACK_HELD = "acknowledgement_held"  # not sent one by one: over [intake] acknowledgements_per_hour
    REVIEW_REQUESTED = "review_requested"
    DECISION = "decision"
    DRAFTER_REPLY = "drafter_reply"
    REPLY_RECEIVED = "reply_received"
    AUTOMATIC_MAIL_RECEIVED = "automatic_mail_received"
    REPEAT_RECEIVED = "repeat_received"  # the sender's draft again, in its thread or under its subject: kept here
    MAIL_QUEUED = "mail_queued"  # any other mail queued about the item (help, notices, ready to post)
    MAIL_SENT = "mail_sent"
    MAIL_FAILED = "mail_failed"
    PROCESSING_FAILED = "processing_failed"  # a bug met while handling a reply; the raw message is kept
    PERSONAL_DATA_ERASED = (
        "personal_data_erased"  # retention or a person's request: only ref, kind, dates, outcome stay
    )


class RosterAction(StrEnum):
    """A change to the SMAT roster or the account register, as audited and as asked for by email."""

    SEEDED = "seeded"  # copied from the config file into an empty table
    ADDED = "added"
    REMOVED = "removed"
    REQUESTED = "requested"  # an emailed command, waiting for its keyed CONFIRM
    CONFIRMED = "confirmed"  # the CONFIRM that made a requested change
    REVIEWED = "reviewed"  # the Clerk confirmed a change the Deputy made
    REFUSED = "refused"  # a command or CONFIRM that changed nothing, and why


class RequestState(StrEnum):
    """Where an emailed roster change stands."""

    PENDING = "pending"  # the confirmation mail is out; nothing changed yet
    DONE = "done"  # confirmed and made


class AuditArea(StrEnum):
    """Which register an audit line is about."""

    ROSTER = "roster"
    ACCOUNTS = "accounts"
