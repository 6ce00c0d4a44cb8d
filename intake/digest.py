"""The Town Clerk's daily digest: the facts of a period (a plain value) -> the sections the templates show.

Pure: the store gathers `DigestFacts` (intake.store.digest), `build_digest` turns them into
words, the templates in templates/digest/ lay them out as text and HTML. Every section is
there every day, saying "none" when empty, so a quiet day's digest still shows the service
is alive and looked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from intake.digest_facts import (
    Counts,
    DecisionLine,
    DigestFacts,
    FlagLine,
    HeldLine,
    ItemLine,
    MailboxLine,
    MailLine,
    QuarantineLine,
    RosterLine,
)
from intake.vocab import Kind, Status
from intake.workdays import past_deadline

__all__ = [
    "ItemLine",
    "DecisionLine",
    "FlagLine",
    "QuarantineLine",
    "MailLine",
    "HeldLine",
    "RosterLine",
    "MailboxLine",
    "Counts",
    "DigestFacts",
    "Digest",
    "DigestOptions",
    "Section",
    "age_text",
    "build_digest",
]

REVIEW_NOTICE_DAYS = 30  # the policy review reminder starts this many days before the date (§11)
MAIL_WAIT = timedelta(hours=1)  # mail waiting longer than this to go is listed
FAILED = "failed"  # the outbox's status for mail refused for good (intake.store.outbox.Delivery)


@dataclass(frozen=True)
class DigestOptions:
    """The [digest] settings the content depends on, and the council's zone and name."""

    tz: ZoneInfo
    council: str
    overdue_hours: int = 48
    policy_review: date | None = None
    report_deadline_working_days: int = 5


@dataclass(frozen=True)
class Section:
    """A heading and its lines; `empty` is said when there are none."""

    title: str
    lines: tuple[str, ...]
    empty: str = "None."
    note: str = ""  # said after the lines, whatever their number


@dataclass(frozen=True)
class Digest:
    """The digest's content, ready for the templates."""

    subject: str
    opening: str
    reconciliation: str
    sections: tuple[Section, ...]
    reminder: str = ""
    quiet: bool = False

    def as_text(self) -> str:
        """The digest as plain text, for `digest --print`."""
        out = [self.subject, "", self.opening, "", self.reconciliation]
        if self.reminder:
            out += ["", self.reminder]
        for section in self.sections:
            out += ["", f"{section.title} ({len(section.lines)})"]
            out += [f"  - {line}" for line in section.lines] or [f"  {section.empty}"]
            out += [f"  {section.note}"] if section.note else []
        return "\n".join(out) + "\n"


def age_text(delta: timedelta) -> str:
    """A waiting time in words a phone screen can hold: "3 days 4 hours", "5 hours", "20 minutes"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{_n(days, 'day')} {_n(hours, 'hour')}" if hours else _n(days, "day")
    if hours:
        return _n(hours, "hour")
    return _n(mins, "minute")


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def next_review(review: date, today: date) -> date:
    """The policy's next yearly review on or after `today`: the config date, moved on by whole years."""
    year = max(review.year, today.year)
    while True:
        try:
            candidate = review.replace(year=year)
        except ValueError:  # 29 February in a year without one
            candidate = date(year, 2, 28)
        if candidate >= today:
            return candidate
        year += 1


def review_reminder(review: date | None, today: date) -> str:
    """The §11 reminder, from 30 days before the policy's yearly review date until the day; else ""."""
    if review is None:
        return ""
    due = next_review(review, today)
    days = (due - today).days
    if days > REVIEW_NOTICE_DAYS:
        return ""
    when = "today" if days == 0 else f"in {_n(days, 'day')}"
    return (
        f"Reminder: the social media policy is due for its yearly review on {due:%d %B %Y} ({when}); "
        "the policy asks for it to be reviewed each year (§11)."
    )


def reconciliation(counts: Counts) -> str:
    """The line that accounts for every message received, so the Clerk can see nothing went missing."""
    line = (
        f"Received {counts.received} = {counts.new_items} new items + {counts.replies} replies "
        f"+ {counts.automatic} automatic mail ignored + {counts.quarantined} quarantined "
        f"+ {counts.repeats} repeats folded"
    )
    missing = counts.received - counts.accounted
    if missing:
        return line + f" — {missing} NOT ACCOUNTED FOR: please tell whoever runs the service."
    return line + "."


def build_digest(facts: DigestFacts, options: DigestOptions, name: Callable[[str], str] = str) -> Digest:
    """The digest's sections from the facts; `name` turns an address into how people are named."""
    tz = options.tz
    today = facts.end.astimezone(tz).date()

    def when(at: datetime) -> str:
        local = at.astimezone(tz)
        return f"{local:%H:%M}" if local.date() == today else f"{local:%a %d %b %H:%M}"

    def age(item: ItemLine) -> str:
        return age_text(facts.end - item.received_at)

    def about(ref: str, subject: str) -> str:
        return f"{ref} “{subject or '(no subject)'}”" if ref else "(no item)"

    def assigned(item: ItemLine) -> str:
        return f", assigned to {name(item.assignee)}" if item.assignee else ""

    overdue_after = timedelta(hours=options.overdue_hours)
    overdue = [i for i in facts.pending if i.kind == Kind.DRAFT and facts.end - i.received_at > overdue_after]
    deadline = options.report_deadline_working_days
    late_reports = [
        i
        for i in facts.pending
        if i.kind == Kind.REPORT and past_deadline(i.received_at.astimezone(tz).date(), today, deadline)
    ]
    accepted = [d for d in facts.decisions if d.accepted]
    refused = [d for d in facts.decisions if not d.accepted]

    sections = (
        Section(
            "Received since the last digest",
            tuple(
                f"{i.ref} {i.kind} from {name(i.sender)}: “{i.subject or '(no subject)'}” at {when(i.received_at)}"
                for i in facts.new_items
            ),
        ),
        Section(
            "Awaiting a decision, oldest first",
            tuple(
                f"{about(i.ref, i.subject)} ({i.kind}, {i.status.replace('_', ' ')}) waiting {age(i)}{assigned(i)}"
                for i in facts.pending
            ),
            "Nothing is waiting.",
        ),
        Section(
            f"Overdue: drafts waiting over {_n(options.overdue_hours, 'hour')}",
            tuple(f"{about(i.ref, i.subject)} from {name(i.sender)}, waiting {age(i)}" for i in overdue),
        ),
        Section(
            f"Reports overdue: not actioned within {_n(deadline, 'working day')}",
            tuple(
                f"{about(i.ref, i.subject)} from {name(i.sender)}, open {age(i)}{assigned(i)}: notice served, "
                "please see that it is actioned"
                for i in late_reports
            ),
        ),
        Section("Decided", tuple(_decided(d, name, when) for d in accepted), "No decisions."),
        Section(
            "High flags",
            tuple(f"{about(f.ref, f.subject)}: {f.rule} (policy {f.section}): {f.excerpt}" for f in facts.flags),
        ),
        Section(
            "Quarantined",
            tuple(
                f"{q.ref} from {q.sender or '(no sender)'} “{q.subject or '(no subject)'}” at {when(q.at)}: {q.reason}"
                for q in facts.quarantined
            ),
            note=f"{_n(facts.still_quarantined, 'item')} in quarantine in all, waiting for you."
            if facts.still_quarantined
            else "",
        ),
        Section("Mail not delivered or waiting over an hour", tuple(_mail(m, facts.end) for m in facts.mail)),
        Section(
            "Refused commands (possible impostors)",
            tuple(
                f"{name(d.by)} sent {d.command or 'a reply'} on {about(d.ref, d.subject)} "
                f"at {when(d.at)}: refused, {d.reason}"
                for d in refused
            ),
        ),
        Section(
            "Acknowledgements held back",
            tuple(f"{h.ref} from {h.sender} at {when(h.at)}" for h in facts.held),
        ),
        Section(
            "Roster changes awaiting your review",
            tuple(
                f"{r.name} <{r.email}> {'added to' if r.added else 'removed from'} SMAT by {name(r.by)}"
                for r in facts.roster_review
            ),
            note="Reply CONFIRM to the mail about each change to confirm it." if facts.roster_review else "",
        ),
        Section("The mailbox", tuple(_mailbox(m, when) for m in facts.mailbox), "Nothing unusual."),
    )
    counts = facts.counts
    quiet = counts.received == 0 and not facts.decisions
    since = facts.start.astimezone(tz)
    period = f"since {since:%a %d %b %H:%M}"
    if quiet:
        opening = f"A quiet day: no mail arrived and nothing was decided {period}. The service is running."
    else:
        opening = (
            f"{_n(counts.received, 'message')} received and {_n(len(accepted), 'decision')} made {period}; "
            f"{len(facts.pending)} awaiting a decision."
        )
    headline = "quiet day" if quiet else f"{len(facts.pending)} awaiting a decision"
    if overdue or late_reports:
        headline += f", {len(overdue) + len(late_reports)} overdue"
    if facts.mail:
        headline += f", {len(facts.mail)} mail problem{'' if len(facts.mail) == 1 else 's'}"
    return Digest(
        subject=f"[SMAT digest] {today:%a %d %b %Y}: {headline}",
        opening=opening,
        reconciliation=reconciliation(counts),
        sections=sections,
        reminder=review_reminder(options.policy_review, today),
        quiet=quiet,
    )


def _decided(d: DecisionLine, name: Callable[[str], str], when: Callable[[datetime], str]) -> str:
    """One decision: what, by whom, when; a rejection with its reason, a post with where."""
    line = f"{d.ref} “{d.subject or '(no subject)'}”: {d.command} by {name(d.by)} at {when(d.at)}"
    if d.new_status == Status.REJECTED:
        return f"{line}, rejected: {d.argument or '(no reason given)'}"
    if d.new_status == Status.POSTED:
        return f"{line}, posted: {d.argument or '(where not said)'}"
    if d.new_status == Status.ACTIONED:
        return f"{line}, actioned: {d.argument or '(see the report)'}"
    if d.new_status == Status.ANSWERED:
        return f"{line}, answered with the standard response {d.argument}"
    if d.command == "ASSIGN":
        return f"{line}, assigned to {d.argument}"
    if d.new_status:
        return f"{line}, now {d.new_status.replace('_', ' ')}"
    return line


def _mail(m: MailLine, now: datetime) -> str:
    """One undelivered or late message."""
    to = ", ".join(m.recipients)
    about = f" about {m.ref}" if m.ref else ""
    if m.status == FAILED:
        return f"{m.purpose}{about} to {to} could not be delivered: {m.error or 'no reason recorded'}"
    error = f" (last error: {m.error})" if m.error else ""
    return f"{m.purpose}{about} to {to} waiting {age_text(now - m.created_at)}, {_n(m.attempts, 'attempt')}{error}"


def _mailbox(m: MailboxLine, when: Callable[[datetime], str]) -> str:
    """One mailbox note in words: what the server did and what the service did about it."""
    if m.kind == "renumbered":
        return (
            f"At {when(m.at)} the mail server renumbered the folder {m.folder} ({m.detail}), as happens when a "
            "folder is restored or made again. Every message in it was looked at again: those already taken in "
            "were recognised and not answered twice, and new ones were taken in. Nothing needs doing unless "
            "this was not expected."
        )
    return f"{m.folder} at {when(m.at)}: {m.detail}"
