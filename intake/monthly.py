"""The monthly report for the Finance and General Purposes Committee (Appendix A): a month's facts -> its figures.

Pure: the store gathers `MonthFacts` (intake.store.monthly), `build_report` turns them into
figures and sentences, `intake.monthly_files` makes the chart and the CSV from the same
figures, and the templates in templates/committee-report/ lay them out. Outcomes are as at
the end of the month (read from the month's decisions), so a month's figures are the same
whenever its report is made.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from intake.accounts import named_account
from intake.digest import Section, age_text
from intake.durations import median, percentile
from intake.monthly_facts import DecisionFact, ItemFact, MonthFacts, MonthOptions
from intake.vocab import OPEN_DRAFT, Kind, Status
from intake.workdays import add_working_days, working_days_between

# A decision, for "time to decision": a draft approved or rejected, a report actioned, an enquiry answered.
ACTIONED: str = Status.ACTIONED.value
ANSWERED: str = Status.ANSWERED.value
DECIDING = frozenset({Status.APPROVED.value, Status.REJECTED.value, ACTIONED, ANSWERED})
KINDS = (Kind.DRAFT, Kind.REPORT, Kind.ENQUIRY)
KIND_TITLES: dict[str, str] = {Kind.DRAFT: "Drafts", Kind.REPORT: "Reports", Kind.ENQUIRY: "Enquiries"}
# Outcomes in the order the committee reads them; each state an item can be in maps to one.
OUTCOMES = ("posted", "approved", "rejected", "withdrawn", "actioned", "answered", "awaiting", "quarantined")
OUTCOME_LABELS = {
    "posted": "posted",
    "approved": "approved, not yet posted",
    "rejected": "rejected",
    "withdrawn": "withdrawn",
    "actioned": "actioned",
    "answered": "answered",
    "awaiting": "not yet decided",
    "quarantined": "quarantined",
}


@dataclass(frozen=True)
class KindCount:
    """Items of one kind received in the month, by outcome at the end of the month."""

    kind: str
    received: int
    outcomes: tuple[tuple[str, int], ...]  # (outcome, count), only those with a count, in OUTCOMES order, others last


@dataclass(frozen=True)
class Timing:
    """How long items of one kind waited for their decision, over the decisions made in the month."""

    kind: str
    decisions: int
    median: timedelta | None
    p90: timedelta | None  # nearest rank: 9 in 10 were decided within this


@dataclass(frozen=True)
class Post:
    """A post recorded as published: when, which item, the account it went out on and its link."""

    ref: str
    subject: str
    at: datetime
    account: str
    url: str
    by: str


@dataclass(frozen=True)
class FlagCount:
    """Policy flags one screening rule raised on the month's drafts."""

    rule: str
    section: str
    total: int
    high: int


@dataclass(frozen=True)
class ReportLine:
    """A report from the public: when due (working days after arrival) and when, if ever, actioned."""

    ref: str
    subject: str
    received_at: datetime
    due: date
    actioned_at: datetime | None
    by: str
    working_days: int  # taken to action it, or waited so far at the end of the month
    late: bool


@dataclass(frozen=True)
class MonthlyReport:
    """The month's figures, ready for the templates, the chart and the CSV."""

    month: date
    title: str  # "November 2026"
    committee: str
    subject: str
    opening: str
    counts: tuple[KindCount, ...]
    timings: tuple[Timing, ...]
    posts: tuple[Post, ...]
    accounts: tuple[tuple[str, int], ...]  # (account, posts) for the register and every account posted to
    flags: tuple[FlagCount, ...]
    actioned: tuple[ReportLine, ...]
    overdue: tuple[ReportLine, ...]
    daily: tuple[tuple[date, tuple[int, ...]], ...]  # per day of the month: items received per kind (KINDS order)
    sections: tuple[Section, ...]
    deadline_days: int

    @property
    def received(self) -> int:
        """Items received in the month, all kinds."""
        return sum(c.received for c in self.counts)

    def as_text(self) -> str:
        """The report as plain text, for `report --print`."""
        out = [self.subject, "", self.opening]
        for section in self.sections:
            out += ["", section.title]
            out += [f"  - {line}" for line in section.lines] or [f"  {section.empty}"]
            out += [f"  {section.note}"] if section.note else []
        return "\n".join(out) + "\n"


def outcome_of(status: str) -> str:
    """The outcome an item's state counts as: undecided states are one; any other state is its own."""
    if status in OPEN_DRAFT or status == Status.OPEN:
        return "awaiting"
    return str(status)


def outcome_label(outcome: str) -> str:
    """How the report names an outcome; a state added later is named by its own words."""
    return OUTCOME_LABELS.get(outcome, outcome.replace("_", " "))


def split_posted(argument: str) -> tuple[str, str]:
    """POSTED's argument -> (account, link): "Facebook https://…" -> ("Facebook", "https://…")."""
    words = argument.split()
    links = [w for w in words if w.lower().startswith(("http://", "https://"))]
    account = " ".join(w for w in words if w not in links)
    return account or "(account not named)", links[0] if links else ""


def _end_status(item: ItemFact, decisions: Sequence[DecisionFact]) -> str:
    """The item's state at the end of the month: its last change in the month, else the state it arrived in."""
    if item.quarantined:
        return Status.QUARANTINED
    changes = [d.new_status for d in decisions if d.ref == item.ref and d.new_status]
    if changes:
        return changes[-1]
    return Status.IN_REVIEW if item.kind == Kind.DRAFT else Status.OPEN  # as pipeline.first_status


def count_outcomes(facts: MonthFacts) -> tuple[KindCount, ...]:
    """Items received in the month by kind and by outcome at the end of the month."""
    decisions = sorted(facts.decisions, key=lambda d: d.at)
    counts = []
    for kind in KINDS:
        mine = [i for i in facts.items if i.kind == kind]
        tally = Counter(outcome_of(_end_status(i, decisions)) for i in mine)
        order = [o for o in OUTCOMES if tally[o]] + sorted(o for o in tally if o not in OUTCOMES)
        counts.append(KindCount(kind, len(mine), tuple((o, tally[o]) for o in order)))
    return tuple(counts)


def time_to_decision(facts: MonthFacts) -> tuple[Timing, ...]:
    """Per kind, from arrival to the first decision made in the month (approval, rejection, actioned)."""
    first: dict[str, DecisionFact] = {}
    for d in sorted(facts.decisions, key=lambda d: d.at):
        if d.new_status in DECIDING and d.ref not in first:
            first[d.ref] = d
    timings = []
    for kind in KINDS:
        waits = [d.at - d.item_received_at for d in first.values() if d.kind == kind]
        timings.append(Timing(kind, len(waits), median(waits), percentile(waits)))
    return tuple(timings)


def posts_of(facts: MonthFacts) -> tuple[Post, ...]:
    """Every post recorded in the month, in order."""
    posts = []
    for d in sorted(facts.decisions, key=lambda d: d.at):
        if d.new_status == Status.POSTED:
            named, url = split_posted(d.argument)
            found = named_account(d.argument, facts.register)  # the register's name for it, when it names one
            account = found.label if found else named
            posts.append(Post(d.ref, d.subject, d.at, account, url, d.by))
    return tuple(posts)


def posts_by_account(posts: Sequence[Post], register: Sequence[str]) -> tuple[tuple[str, int], ...]:
    """Posts per account: every registered account (none is still a figure), then any other named in a post."""
    tally = Counter(p.account.casefold() for p in posts)
    names: dict[str, str] = {}
    for name in [*register, *(p.account for p in posts)]:
        names.setdefault(name.casefold(), name)
    return tuple((name, tally[key]) for key, name in names.items())


def flags_by_rule(items: Sequence[ItemFact]) -> tuple[FlagCount, ...]:
    """Flags raised on the month's items, per rule, most first; how many of them were high."""
    total: Counter[str] = Counter()
    high: Counter[str] = Counter()
    sections: dict[str, str] = {}
    for item in items:
        for rule, section, severity in item.flags:
            total[rule] += 1
            high[rule] += severity == "high"
            sections.setdefault(rule, section)
    return tuple(FlagCount(r, sections[r], n, high[r]) for r, n in sorted(total.items(), key=lambda x: (-x[1], x[0])))


def report_lines(facts: MonthFacts, tz: ZoneInfo, deadline_days: int) -> tuple[tuple[ReportLine, ...], ...]:
    """Reports actioned in the month (each on time or late), and those overdue and still open at its end."""
    last_day = (facts.end - timedelta(microseconds=1)).astimezone(tz).date()
    actioned, overdue = [], []
    for r in sorted(facts.reports, key=lambda r: r.received_at):
        arrived = r.received_at.astimezone(tz).date()
        due = add_working_days(arrived, deadline_days)
        done = r.actioned_at if r.actioned_at is not None and r.actioned_at < facts.end else None
        if done is not None and done >= facts.start:
            done_day = done.astimezone(tz).date()
            days = working_days_between(arrived, done_day)
            actioned.append(ReportLine(r.ref, r.subject, r.received_at, due, done, r.actioned_by, days, done_day > due))
        elif done is None and r.received_at < facts.end and due <= last_day:
            days = working_days_between(arrived, last_day)
            overdue.append(ReportLine(r.ref, r.subject, r.received_at, due, None, "", days, True))
    return tuple(actioned), tuple(overdue)


def daily_counts(facts: MonthFacts, tz: ZoneInfo) -> tuple[tuple[date, tuple[int, ...]], ...]:
    """Items received on each day of the month, per kind, for the chart."""
    start = facts.start.astimezone(tz).date()
    days = (facts.end.astimezone(tz).date() - start).days
    tally = Counter((i.received_at.astimezone(tz).date(), i.kind) for i in facts.items)
    return tuple(
        (start + timedelta(days=n), tuple(tally[(start + timedelta(days=n), k)] for k in KINDS)) for n in range(days)
    )


def _n(count: int, word: str, plural: str = "") -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _some(count: int, one: str, many: str) -> str:
    """ "no posts were", "1 post was", "3 posts were"."""
    return f"no {many}" if count == 0 else _n(count, one, many)


def kind_count(count: int, kind: str) -> str:
    """ "1 draft", "2 reports", "3 enquiries"."""
    return _n(count, str(kind), "enquiries" if kind == Kind.ENQUIRY else "")


def build_report(facts: MonthFacts, options: MonthOptions, name: Callable[[str], str] = str) -> MonthlyReport:
    """The month's figures and the sentences that say them; `name` turns an address into how people are named."""
    tz = options.tz
    title = f"{facts.month:%B %Y}"
    counts = count_outcomes(facts)
    timings = time_to_decision(facts)
    posts = posts_of(facts)
    accounts = posts_by_account(posts, facts.accounts)
    flags = flags_by_rule(facts.items)
    actioned, overdue = report_lines(facts, tz, options.report_deadline_days)

    def day(at: datetime) -> str:
        return f"{at.astimezone(tz):%a %d %b}"

    def about(ref: str, subject: str) -> str:
        return f"{ref} “{subject or '(no subject)'}”"

    received = sum(c.received for c in counts)
    by_kind = ", ".join(kind_count(c.received, c.kind) for c in counts)
    if received or posts or actioned or overdue:
        opening = (
            f"In {title} SMAT received {_n(received, 'item')} ({by_kind}); "
            f"{_some(len(posts), 'post was', 'posts were')} published and "
            f"{_some(len(actioned), 'report from the public was', 'reports from the public were')} actioned."
        )
        if overdue:
            opening += f" {_n(len(overdue), 'report was', 'reports were')} overdue at the end of the month."
    else:
        opening = f"A quiet month: nothing was received, published or actioned in {title}."
    deadline = _n(options.report_deadline_days, "working day")
    sections = (
        Section(
            "Received, by kind and outcome at the end of the month",
            tuple(
                f"{KIND_TITLES[c.kind]}: {c.received}"
                + (" — " + ", ".join(f"{n} {outcome_label(o)}" for o, n in c.outcomes) if c.outcomes else "")
                for c in counts
            ),
        ),
        Section(
            "Time to decision",
            tuple(_timing_line(t) for t in timings),
            note="From arrival to approval or rejection; for reports, to being actioned; for enquiries, to being "
            "answered.",
        ),
        Section(
            f"Posts published ({len(posts)})",
            tuple(
                f"{day(p.at)}: {about(p.ref, p.subject)} on {p.account}{' ' + p.url if p.url else ''}"
                f", recorded by {name(p.by)}"
                for p in posts
            ),
            "No posts were recorded as published.",
        ),
        Section(
            "Posts by account",
            tuple(f"{account}: {_n(n, 'post')}" for account, n in accounts),
            "No accounts registered or posted to.",
        ),
        Section(
            "Policy flags raised, by rule",
            tuple(f"{f.rule} (policy {f.section}): {f.total}" + (f", {f.high} high" if f.high else "") for f in flags),
            "No flags were raised.",
        ),
        Section(
            f"Reports from the public actioned ({len(actioned)})",
            tuple(
                f"{about(r.ref, r.subject)}: received {day(r.received_at)}, actioned "
                f"{day(r.actioned_at)} by {name(r.by)} after {_n(r.working_days, 'working day')}"
                + (f", late (due {r.due:%a %d %b})" if r.late else "")
                for r in actioned
                if r.actioned_at is not None
            ),
            "No reports were actioned.",
        ),
        Section(
            f"Reports overdue at the end of the month ({len(overdue)})",
            tuple(
                f"{about(r.ref, r.subject)}: received {day(r.received_at)}, due {r.due:%a %d %b}, "
                f"open for {_n(r.working_days, 'working day')}"
                for r in overdue
            ),
            "None.",
            note=f"A report is due {deadline} after the day it arrived.",
        ),
    )
    headline = f"{received} received, {_n(len(posts), 'post')}"
    if overdue:
        headline += f", {_n(len(overdue), 'report')} overdue"
    return MonthlyReport(
        month=facts.month,
        title=title,
        committee=options.committee,
        subject=f"[SMAT report] {title}: {headline}",
        opening=opening,
        counts=counts,
        timings=timings,
        posts=posts,
        accounts=accounts,
        flags=flags,
        actioned=actioned,
        overdue=overdue,
        daily=daily_counts(facts, tz),
        sections=sections,
        deadline_days=options.report_deadline_days,
    )


def _timing_line(t: Timing) -> str:
    """One kind's time to decision, in words a phone screen can hold."""
    title = KIND_TITLES[Kind(t.kind)]
    if not t.decisions or t.median is None or t.p90 is None:
        return f"{title}: none decided this month"
    return (
        f"{title}: {_n(t.decisions, 'decision')}; median {age_text(t.median)}, "
        f"9 in 10 within {age_text(t.p90)} (90th percentile)"
    )
