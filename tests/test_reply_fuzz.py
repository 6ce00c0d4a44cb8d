"""Seeded fuzz of hostile replies: each is parsed and read within a time and a memory bound (issue 7).

Long lines (up to 1 MB, shaped to make patterns backtrack), quotes 1,000 levels deep in text
(">") and in HTML (<blockquote>), quote after quote, and MIME parts nested inside each other
go through `intake.message.parse`, `replies.new_text` and `replies.read_command`, as the reply
step reads every reply before any authority check.  The seed is fixed so a failure repeats.
"""

from __future__ import annotations

import random
import time
import tracemalloc
from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default

import pytest

from intake.message import parse
from intake.replies import new_text, read_command

SEED = 20260611
CASES = 40
TIME_BOUND = 2.0  # seconds per message
MEMORY_BOUND = 64 * 1024 * 1024  # tracemalloc peak per message

# Lines that made a pattern backtrack: ours ("On ... wrote:", Outlook's border style) and
# quotequail's ("Op (.*) heeft (.*?)", "(.* <.*@.*>)$", "Am (.*) schrieb (.*):").
_SHAPES: tuple[Callable[[int], str], ...] = (
    lambda n: "On 1" + " 1" * (n // 2),
    lambda n: "On " + "1 " * (n // 2),
    lambda n: "Op " + " heeft " * (n // 7),
    lambda n: "Am " + " schrieb " * (n // 9),
    lambda n: ("2026/1/1 " + " <" * 5 + "@") * (n // 20),
    lambda n: "From: " + "a" * n,
    lambda n: "-" * n,
    lambda n: "<" * n,
    lambda n: "APPROVE" + "!" * n,
    lambda n: "> " * (n // 2) + "APPROVE",
)


def _long_line(rng: random.Random) -> str:
    return rng.choice(_SHAPES)(rng.choice((300, 1_000, 40_000, 200_000, 1_000_000)))


def _text_body(rng: random.Random) -> str:
    """A plain-text reply: a command or not, long lines, deep "> " quotes, quote after quote."""
    parts = [rng.choice(("APPROVE", "Thanks", "Approve or reject?", ""))]
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(4)
        if kind == 0:
            parts.append(_long_line(rng))
        elif kind == 1:
            parts.extend(">" * level + " quoted" for level in range(1, 1_001))
        elif kind == 2:
            parts.append(
                "".join(f"On 1 Jan 2026 M{i} wrote:\n> a\n> b\n> c\n\n" for i in range(rng.randint(10, 3_000)))
            )
        else:
            parts.append("\n".join(_long_line(rng)[:300] for _ in range(rng.randint(10, 200))))
    return "\n".join(parts)


def _html_body(rng: random.Random) -> str:
    """An HTML reply: 1,000 nested blockquotes or divs, long styles, long text."""
    depth = rng.choice((1_000, 5_000))
    tag = rng.choice(('blockquote type="cite"', "blockquote", "div", 'div class="gmail_quote"'))
    close = tag.split()[0]
    style = "border-top:solid " * rng.choice((10, 10_000, 60_000))
    return (
        f'<p style="{style}">APPROVE</p>'
        + f"<{tag}>" * depth
        + _long_line(rng)[:200_000].replace("<", "&lt;")
        + f"</{close}>" * depth
    )


def _nested(rng: random.Random, inner: EmailMessage, levels: int) -> EmailMessage:
    """`inner` forwarded inside `levels` messages, each also multipart with a text part."""
    for level in range(levels):
        outer = EmailMessage()
        outer["Subject"] = f"Fwd {level}"
        outer.set_content("see below")
        outer.add_attachment(inner)
        inner = outer
    return inner


def hostile_reply(rng: random.Random) -> bytes:
    """One random hostile reply, as raw bytes."""
    msg = EmailMessage()
    msg.set_content(_text_body(rng))
    if rng.random() < 0.5:
        msg.add_alternative(_html_body(rng), subtype="html")
    if rng.random() < 0.3:
        msg.add_attachment(_nested(rng, EmailMessage(), rng.choice((5, 50))))
    msg["From"] = "Member <clerk@example.org>"
    msg["To"] = "smat.info+k123@example.org"
    msg["Subject"] = "Re: [SMAT-2026-0001] Review draft"
    msg["Message-ID"] = f"<fuzz{rng.randrange(10**9)}@example.org>"
    return msg.as_bytes(policy=SMTP)


def read(raw: bytes) -> None:
    """What the reply step does with a reply before any authority check."""
    read_command(new_text(parse(raw)))


def _messages() -> list[bytes]:
    rng = random.Random(SEED)
    return [hostile_reply(rng) for _ in range(CASES)]


@pytest.fixture(scope="module")
def messages() -> list[bytes]:
    return _messages()


@pytest.mark.slow  # a long proof: scripts/test runs it after the product suite
def test_every_hostile_reply_is_read_within_the_time_bound(messages: list[bytes]) -> None:
    slow = []
    for number, raw in enumerate(messages):
        started = time.perf_counter()
        read(raw)
        took = time.perf_counter() - started
        if took > TIME_BOUND:
            slow.append((number, len(raw), round(took, 2)))
    assert not slow, f"(case, bytes, seconds) over {TIME_BOUND} s: {slow}"


@pytest.mark.slow  # a long proof: scripts/test runs it after the product suite
def test_every_hostile_reply_is_read_within_the_memory_bound(messages: list[bytes]) -> None:
    heavy = []
    for number, raw in enumerate(messages):
        tracemalloc.start()
        try:
            read(raw)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        if peak > MEMORY_BOUND:
            heavy.append((number, len(raw), peak // 1_000_000))
    assert not heavy, f"(case, bytes, MB) over {MEMORY_BOUND // 2**20} MiB: {heavy}"


def test_the_fuzz_really_holds_long_lines_deep_quotes_and_nested_parts(messages: list[bytes]) -> None:
    """The generator is not quietly tame: the cases hold what the bounds are about."""
    texts = [_decoded(raw) for raw in messages]
    assert max(len(raw) for raw in messages) > 1_000_000
    assert any(">" * 1_000 + " quoted" in text for text in texts)
    assert any("<blockquote>" * 1_000 in text or '<blockquote type="cite">' * 1_000 in text for text in texts)
    assert any(raw.count(b"message/rfc822") >= 5 for raw in messages)


def _decoded(raw: bytes) -> str:
    """Every text part of a message, decoded, one after another."""
    msg = message_from_bytes(raw, policy=default)
    return "\n".join(str(part.get_content()) for part in msg.walk() if part.get_content_maintype() == "text")
