"""The committee report's files: the month's chart (a PNG, with its alt text) and the figures as CSV.

Both are made from the `MonthlyReport` alone, so the chart, the CSV and the mail's text cannot
disagree. The chart is drawn with matplotlib's object API on the Agg canvas (no display, no
pyplot state shared between threads); matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from intake.monthly import KIND_TITLES, KINDS, MonthlyReport, Timing, kind_count, outcome_label

# Okabe and Ito's colour-blind-safe palette: drafts, reports, enquiries.
COLOURS = ("#0072B2", "#E69F00", "#009E73")
CSV_COLUMNS = ("section", "kind", "measure", "value", "date", "ref", "account", "link")


def chart_alt(report: MonthlyReport) -> str:
    """The chart in words, for the image's alt text: what it shows and its figures."""
    total = report.received
    if not total:
        return f"Bar chart of items received each day in {report.title}: none were received."
    by_kind = ", ".join(kind_count(c.received, c.kind) for c in report.counts)
    busiest, counts = max(report.daily, key=lambda d: (sum(d[1]), -d[0].toordinal()))
    peak = (
        f"the busiest day was {busiest:%a %d %b} with {sum(counts)}" if sum(counts) > 1 else "no day had more than one"
    )
    return f"Bar chart of items received each day in {report.title}, by kind: {total} in all ({by_kind}); {peak}."


def chart_png(report: MonthlyReport) -> bytes:
    """A bar chart of the items received on each day of the month, stacked by kind, as PNG bytes."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    # 960 x 540 pixels with large type: shown about 380 pixels wide on a phone, the words stay readable.
    figure = Figure(figsize=(6.4, 3.6), dpi=150, layout="constrained")
    axes = figure.add_subplot()
    days = [d.day for d, _ in report.daily]
    bottom = [0] * len(days)
    for index, (kind, colour) in enumerate(zip(KINDS, COLOURS, strict=True)):
        values = [counts[index] for _, counts in report.daily]
        axes.bar(days, values, bottom=bottom, color=colour, label=KIND_TITLES[kind], width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_title(f"Items received each day, {report.title}", loc="left", fontsize=15)
    axes.set_xlabel(f"Day of {report.month:%B}", fontsize=13)
    axes.tick_params(labelsize=12)
    axes.set_xticks([d for d in days if d == 1 or d % 5 == 0])
    axes.set_xlim(0.4, len(days) + 0.6)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axes.set_ylim(0, max(max(bottom, default=0), 1) * 1.25)  # room for the legend above the bars
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(frameon=False, loc="upper left", ncols=3, fontsize=12, handlelength=1.2, columnspacing=1.2)
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _hours(timing: Timing, which: str) -> str:
    value = timing.median if which == "median" else timing.p90
    return "" if value is None else f"{value.total_seconds() / 3600:.1f}"


def _cell(value: object) -> object:
    """A cell a spreadsheet shows as text: words a member typed (an account) never run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def report_csv(report: MonthlyReport, tz: ZoneInfo) -> bytes:
    """Every figure of the report as one long table (a row per figure), UTF-8 with a BOM so Excel reads it right."""
    rows: list[tuple[object, ...]] = []
    for c in report.counts:
        rows.append(("received", c.kind, "items", c.received))
        rows += [("outcome at end of month", c.kind, outcome_label(o), n) for o, n in c.outcomes]
    for t in report.timings:
        rows.append(("time to decision", t.kind, "decisions", t.decisions))
        rows.append(("time to decision", t.kind, "median hours", _hours(t, "median")))
        rows.append(("time to decision", t.kind, "90th percentile hours", _hours(t, "p90")))
    for p in report.posts:
        rows.append(("post published", "draft", "post", 1, f"{p.at.astimezone(tz):%Y-%m-%d}", p.ref, p.account, p.url))
    rows += [("posts by account", "", "posts", n, "", "", account) for account, n in report.accounts]
    for f in report.flags:
        rows.append(("policy flags", "draft", f"{f.rule} (policy {f.section})", f.total))
        rows.append(("policy flags", "draft", f"{f.rule} (policy {f.section}) high", f.high))
    for r in report.actioned:
        when = f"{r.actioned_at.astimezone(tz):%Y-%m-%d}" if r.actioned_at else ""
        measure = "working days to action, late" if r.late else "working days to action"
        rows.append(("report actioned", "report", measure, r.working_days, when, r.ref))
    for r in report.overdue:
        rows.append(
            ("report overdue", "report", "working days open at end of month", r.working_days, f"{r.due}", r.ref)
        )
    for day, counts in report.daily:
        rows += [("received per day", kind, "items", n, f"{day}") for kind, n in zip(KINDS, counts, strict=True)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(v) for v in (*row, *[""] * (len(CSV_COLUMNS) - len(row)))])
    return out.getvalue().encode("utf-8-sig")
