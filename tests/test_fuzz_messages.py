"""Generated hostile mail (hypothesis): no crash, bounded time, each message an item, reply, ignored or
quarantined, no header injected into what we send, no file outside where we keep things.

CI runs SMAT_FUZZ_EXAMPLES generated messages (default 1,000) through the pure parse+classify core and
a sample through the whole pipeline; `bench/faults.py` runs 10,000 and prints the figures. The 1,000 and
the 30 MB body are long proofs (marker `slow`), run by scripts/test after the product suite.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from fuzz_mail import Checked, big_body, check_one, injected_headers, many_parts, messages, nested
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select
from support import make_service

from intake.store.models import Item, Message, OutboxMessage

EXAMPLES = int(os.environ.get("SMAT_FUZZ_EXAMPLES", "1000"))
PIPELINE_SAMPLE = 40
QUICK = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck), derandomize=True)
# Every header we write on our own mail; anything else in a mail we send would have come from a sender.
OUR_HEADERS = {
    "from",
    "to",
    "cc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "content-id",
    "auto-submitted",
    "x-auto-response-suppress",
    "precedence",
    "x-smat-ref",
    "x-smat-purpose",
    "x-smat-loop",
    "list-id",
    "list-unsubscribe",
    "x-loop",
}


@pytest.mark.slow  # a long proof (1,000 generated messages, ~10 s): scripts/test runs it after the product suite
def test_generated_messages_never_crash_the_core_and_nothing_unsafe_comes_out():
    checked = Checked()

    @settings(QUICK, max_examples=EXAMPLES)
    @given(messages())
    def one(raw: bytes) -> None:
        check_one(raw, checked)

    one()
    print(f"{checked.count} messages, {checked.unreadable} unreadable, {checked.outcomes}, p99 {checked.p99():.3f} s")
    assert checked.crashes == []
    assert checked.count >= EXAMPLES // 2  # hypothesis may stop early only on a small space
    assert max(checked.seconds) < 5


@pytest.mark.parametrize(
    "name, raw, seconds",
    [
        ("1,000 levels of nesting", nested(1000), 60),
        ("10,000 parts", many_parts(10_000), 60),
        # a long proof (~15 s, nearly all of it rendering 30 MB into three review requests): run after the product suite
        pytest.param("a 30 MB body", big_body(30), 60, marks=pytest.mark.slow),
    ],
    ids=["nested-1000", "parts-10000", "body-30MB"],
)
def test_extreme_messages_are_bounded_and_end_as_an_item_or_quarantined(tmp_path, sqlite_url, name, raw, seconds):
    checked = Checked()
    check_one(raw, checked, traced=True)
    assert checked.crashes == []
    assert checked.seconds[0] < seconds, f"{name}: parsing took {checked.seconds[0]:.1f} s"
    assert checked.peak_bytes < 20 * len(raw) + 200 * 2**20, f"{name}: {checked.peak_bytes / 2**20:.0f} MB"

    service = make_service(tmp_path, sqlite_url)
    try:
        started = time.monotonic()
        outcome = service.ingest(raw, "file")
        assert time.monotonic() - started < seconds * 2
        assert outcome.classification in {"draft", "quarantined"}
        with service.sessions() as session:
            assert session.scalars(select(Message.size)).one() == len(raw)  # kept whole
            assert len(session.scalars(select(Item)).all()) == 1
    finally:
        service.close()


def test_a_sample_through_the_pipeline_ends_somewhere_sends_no_injected_header_and_writes_no_stray_file(
    tmp_path, sqlite_url
):
    service = make_service(tmp_path, sqlite_url)
    before = {p for p in tmp_path.rglob("*")}
    outcomes: list[str] = []
    try:

        @settings(QUICK, max_examples=PIPELINE_SAMPLE)
        @given(messages())
        def one(raw: bytes) -> None:
            outcome = service.ingest(raw, "file")
            outcomes.append(outcome.classification)

        one()
        service.deliver()
        with service.sessions() as session:
            sent = [row.raw for row in session.scalars(select(OutboxMessage))]
    finally:
        service.close()

    assert len(outcomes) >= PIPELINE_SAMPLE // 2
    assert set(outcomes) <= {"draft", "report", "enquiry", "reply", "automatic", "own", "quarantined"}
    assert sent, "no mail was sent, so nothing was checked for injected headers"
    for raw in sent:
        if raw:
            assert injected_headers(raw, OUR_HEADERS) == []
    # Only the database and the outbox folder: no attachment name led a file anywhere else.
    new = {p for p in tmp_path.rglob("*")} - before
    outbox = tmp_path / "outbox"
    strays = [p for p in new if not (p == outbox or outbox in p.parents or p.name.startswith("smat.db"))]
    assert strays == []
    assert not Path("/etc/passwd.jpg").exists()
