"""Proofs under fault, as figures (issue 12, "Figures printed"). Asserts nothing; prints.

    .venv/bin/python bench/faults.py                          # 500 drafts, 20 kills, 10,000 generated messages
    .venv/bin/python bench/faults.py --messages 100 --kills 5 --fuzz 500   # a quick try

It starts a private Dovecot and an SMTP sink (tests/servers.py) and runs:
1. the kill soak (tests/faults_soak.py): drafts in the inbox, `poll --once` and `run` SIGKILLed at
   random once ready, restarted each time, then counted: items, duplicates, losses, and each
   acknowledgement at the SMTP server by Message-ID (sent, sent twice);
2. automatic mail: one message per loop rule through the classifier, suppressed or not, by rule;
3. impostors: forged approvals of a draft through the whole pipeline, and how many were accepted;
4. the generated corpus (tests/fuzz_mail.py, hypothesis) through parse+classify: crashes, the
   99th percentile parse time, peak traced memory, then the extremes (1,000 levels, 10,000 parts, 30 MB).
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from faults_soak import kill_soak  # noqa: E402
from fuzz_mail import Checked, big_body, check_one, many_parts, messages, nested  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from samples import draft  # noqa: E402
from servers import Dovecot, SmtpSink  # noqa: E402
from support import make_service  # noqa: E402

from intake import classify  # noqa: E402
from intake.message import parse  # noqa: E402

AUTOMATIC = {
    "Auto-Submitted: auto-replied": {"Auto-Submitted": "auto-replied"},
    "X-Autoreply": {"X-Autoreply": "yes"},
    "X-Autorespond": {"X-Autorespond": "yes"},
    "Precedence: bulk": {"Precedence": "bulk"},
    "Precedence: junk": {"Precedence": "junk"},
    "Precedence: list": {"Precedence": "list"},
    "Precedence: auto_reply": {"Precedence": "auto_reply"},
    "List-Id": {"List-Id": "<news.example.com>"},
    "List-Unsubscribe": {"List-Unsubscribe": "<mailto:leave@example.com>"},
    "Return-Path: <>": {"Return-Path": "<>"},
    "MAILER-DAEMON sender": {"sender": "MAILER-DAEMON@example.com"},
    "noreply sender": {"sender": "noreply@example.com"},
    "Out of Office subject": {"subject": "Out of Office: back Monday"},
    "Automatic reply subject": {"subject": "Automatic reply: Litter pick"},
    "Abwesenheitsnotiz subject": {"subject": "Abwesenheitsnotiz: Urlaub"},
    "Auto-Submitted: no (a person)": {"Auto-Submitted": "no"},
}


def automatic_figures() -> Counter[str]:
    """Which loop rules suppress an acknowledgement (the last one must not)."""
    out: Counter[str] = Counter()
    for rule, fields in AUTOMATIC.items():
        headers = {k: v for k, v in fields.items() if k not in ("sender", "subject")}
        raw = draft(
            sender=fields.get("sender", "jane@example.com"), subject=fields.get("subject", "Litter pick"), **headers
        )
        verdict = classify.classify(parse(raw), "smat.info@example.org", "example.org", False)
        out[rule] = 0 if verdict.is_submission else 1
    return out


def impostor_figures(workdir: Path) -> tuple[int, int]:
    """Forged approvals of a draft through the pipeline: (attempts, accepted)."""
    service = make_service(workdir, f"sqlite:///{workdir}/impostors.db")
    try:
        ref = service.ingest(draft(subject="Fete on Saturday"), "file").ref
        forged = [
            draft(sender="clerk@example.org", name="Town Clerk", subject=f"Re: [{ref}] Fete", body="APPROVE"),
            draft(sender="mallory@example.net", subject=f"Re: [{ref}] Fete", body="APPROVE"),
            draft(
                sender="clerk@example.org",
                subject=f"Re: [{ref}] Fete",
                body="APPROVE",
                Authentication_Results="mx.example.org; dkim=pass header.d=example.org; spf=pass",
            ),
            draft(sender="jane@example.com", subject=f"Re: [{ref}] Fete", body="APPROVE"),  # the drafter herself
        ]
        for raw in forged:
            service.ingest(raw, "file")
        from sqlalchemy import select

        from intake.store.models import Item

        with service.sessions() as session:
            status = session.scalars(select(Item.status).where(Item.ref == ref)).one()
        return len(forged), int(status == "approved")
    finally:
        service.close()


def fuzz_figures(count: int) -> Checked:
    checked = Checked()

    @settings(max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(messages())
    def one(raw: bytes) -> None:
        check_one(raw, checked, traced=checked.count % 50 == 0)

    one()
    for raw in (nested(1000), many_parts(10_000), big_body(30)):
        check_one(raw, checked, traced=True)
    return checked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--fuzz", type=int, default=10_000)
    args = parser.parse_args()
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        started = time.monotonic()
        with Dovecot() as mailbox, SmtpSink() as sink:
            (work / "soak").mkdir()
            soak = kill_soak(mailbox, sink, work / "soak", messages=args.messages, kills=args.kills)
        soak_seconds = time.monotonic() - started
        attempts, accepted = impostor_figures(work)
    suppressed = automatic_figures()
    started = time.monotonic()
    checked = fuzz_figures(args.fuzz)
    fuzz_seconds = time.monotonic() - started

    print(
        f"kill soak ({soak_seconds:.0f} s): messages injected {soak.injected}, ingested {soak.ingested}, "
        f"quarantined {soak.quarantined}, duplicated {soak.duplicated}, lost {soak.lost}"
    )
    print(
        f"  kills {soak.kills} ({dict(soak.commands)} started), recoveries {soak.recoveries}; "
        f"in the processed folder {soak.processed_folder}, left in the inbox {soak.inbox_left}"
    )
    print(
        f"  acknowledgements expected {soak.acks_expected}, sent {soak.acks_sent}, sent twice {soak.acks_twice}; "
        f"the last one {soak.seconds_after_last_restart:.0f} s after the last restart"
    )
    print(f"automatic replies suppressed: {sum(suppressed.values())} of {len(suppressed)} signals")
    for rule, n in suppressed.items():
        print(f"  {rule}: {'suppressed' if n else 'acknowledged'}")
    print(f"impostor attempts {attempts}, accepted {accepted}")
    print(
        f"corpus ({fuzz_seconds:.0f} s): {checked.count} messages (generated + 3 extremes), crashes "
        f"{len(checked.crashes)}, unreadable (quarantined) {checked.unreadable}, outcomes {checked.outcomes}"
    )
    print(
        f"  99th percentile parse time {checked.p99() * 1000:.1f} ms, slowest {max(checked.seconds):.2f} s, "
        f"peak traced memory of one parse {checked.peak_bytes / 2**20:.0f} MB, "
        f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    for crash in checked.crashes[:10]:
        print(f"  crash: {crash}")


if __name__ == "__main__":
    main()
