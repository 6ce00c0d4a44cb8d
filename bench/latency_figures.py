"""The figures of bench/latency.py: per-draft stages from the raw times, percentiles, targets."""

from __future__ import annotations

import math
from typing import Any

from latency_worker import SENDER

TARGET_LISTENER = 0.25
DOVECOT_NOTIFY_DELAY = 0.5  # NOTIFY_DELAY_MSECS in Dovecot's mailbox-watch code
OUR_ALLOWANCE = 0.1


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


def spread(values: list[float]) -> str:
    """p50 / p95 / max in seconds."""
    if not values:
        return "(none)"
    return f"p50 {pct(values, 50):.3f}  p95 {pct(values, 95):.3f}  max {max(values):.3f} s"


NOTIFY_LABEL = "Dovecot's notification (probe APPEND -> bare IDLE's EXISTS)"
SHARE_LABEL = "our share (total - that notification delay)"


def first_after(times: list[float], t: float) -> float | None:
    later = [x for x in times if x >= t]
    return min(later) if later else None


def stages(path: str, raw: dict[str, Any]) -> dict[str, list[float]]:
    """Per draft: total latency and each stage's seconds, from the sends, the worker's events and the sink."""
    events = raw["events"]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_kind.setdefault(e["kind"], []).append(e)
    out: dict[str, list[float]] = {}

    def add(label: str, value: float | None) -> None:
        if value is not None:
            out.setdefault(label, []).append(value)

    for i, (sent, accepted, probed) in raw["sends"].items():
        ack = raw["acks"][i]
        who = SENDER.format(i)
        began = next((e["t"] for e in by_kind.get("ingest_start", []) if e["who"] == i), None)
        ended = next((e["t"] for e in by_kind.get("ingest_end", []) if e["who"] == i), None)
        handed = next((e for e in by_kind.get("send_start", []) if e["rcpts"] == [who]), None)
        if ack is None or began is None or ended is None or handed is None:
            continue
        add("total", ack - sent)
        if path == "idle":
            notified = first_after(raw["exists"], probed)
            woke = first_after([e["t"] for e in by_kind.get("pass_start", [])], sent)
            add("APPEND answered", accepted - sent)
            if notified is not None:
                add(NOTIFY_LABEL, notified - probed)
                add(SHARE_LABEL, (ack - sent) - (notified - probed))
            if woke is not None:
                add("our IDLE wake (a pass starts)", woke - sent)
                add("pass start -> draft fetched (STATUS, SEARCH, FETCH)", began - woke)
        else:
            add("SMTP dialogue -> ingest starts", began - sent)
            add("listener's 250 at the sender (after the commit)", accepted - sent)
        add("ingest (parse, screen, store, compose 4 mails, commit)", ended - began)
        end = next(e for e in by_kind["ingest_end"] if e["who"] == i)
        add("  of which: parse, look at the files (Pipeline._read)", end["read"])
        add("  of which: classify, screen, store, compose (_process)", end["process"])
        add("  of which: the rest (attempt count, commit, fsync)", ended - began - end["read"] - end["process"])
        add("  the ingesting thread's CPU time (the rest: waiting)", end["cpu"])
        woke = first_after([e["t"] for e in by_kind.get("deliver_start", [])], began)
        if woke is not None:
            add("ingest end -> delivery pass starts", woke - ended)
            add("delivery start -> ack handed to the relay (claim, build)", handed["t"] - woke)
            add("mails sent before the ack in its pass", float(handed["before"]))
        add("ack: SMTP to the sink", ack - handed["t"])
    return out


def report(name: str, path: str, raw: dict[str, Any], count: int) -> None:
    """Print the figures of one case beside its target."""
    parts = stages(path, raw)
    total = parts.get("total", [])
    if len(total) < count:
        print(f"  WARNING: {count - len(total)} of {count} drafts have no complete timing")
    p95 = pct(total, 95) if total else math.inf
    if path == "listener":
        target, what = TARGET_LISTENER, f"target p95 <= {TARGET_LISTENER} s"
    else:
        notify = parts.get(NOTIFY_LABEL, [])
        measured = pct(notify, 95) if notify else DOVECOT_NOTIFY_DELAY
        target = max(measured, DOVECOT_NOTIFY_DELAY) + OUR_ALLOWANCE
        what = (
            f"target p95 <= notification delay + {OUR_ALLOWANCE} s = {target:.3f} s (Dovecot's "
            f"{DOVECOT_NOTIFY_DELAY} s; measured p95 {measured:.3f} s)"
        )
    print(f"{name}: {len(total)} drafts, send -> acknowledgement at the sink: {spread(total)}")
    print(f"  {what}: {'met' if p95 <= target else 'NOT MET'}")
    if path == "idle":
        share = parts.get(SHARE_LABEL, [])
        if share:
            ok = pct(share, 95) <= OUR_ALLOWANCE
            print(f"  our share (ours - Dovecot's notification): {spread(share)} (<= {OUR_ALLOWANCE} s: {ok})")
    print("  where the time goes (per draft):")
    for label, values in parts.items():
        if label != "total":
            if label.startswith("mails sent"):
                print(f"    {label:58} {spread(values).replace(' s', '').replace('.000', '')}")
            else:
                print(f"    {label:58} {spread(values)}")
