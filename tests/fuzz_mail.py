"""Hostile mail made by hypothesis: random MIME trees, headers, charsets, encoded words, NUL bytes, encoded
newlines in subjects, file names that climb out of folders. Shared by test_fuzz_messages.py and bench/faults.py."""

from __future__ import annotations

import base64
import functools
import quopri
import time
import tracemalloc
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import SMTP

from hypothesis import strategies as st

from intake import classify
from intake.message import ParseError, parse

CHARSETS = ["utf-8", "iso-8859-1", "windows-1252", "koi8-r", "shift_jis", "gb2312", "utf-16", "iso-2022-jp"]
BOGUS_CHARSETS = ["bogus-charset", "x-unknown", "utf-7", "", "us-ascii\x00"]
HOSTILE_NAMES = [
    "../../etc/passwd",
    "..\\x",
    "..\\..\\Windows\\system32\\evil.dll",
    "/etc/shadow",
    "C:\\boot.ini",
    "a" * 300 + ".jpg",
    "\x00evil.exe",
    "photo.jpg\x00.exe",
    "CON",
    ".htaccess",
    "=?utf-8?b?Li4vLi4vZXRjL3Bhc3N3ZA==?=",  # ../../etc/passwd, as an encoded word
    "r\u00e9sum\u00e9.pdf",
    "line\r\nbreak.txt",
]
HOSTILE_SUBJECTS = [
    "=?utf-8?q?Hello=0D=0ABcc:_victim@example.com?=",
    "=?utf-8?b?SGVsbG8NCkJjYzogdmljdGltQGV4YW1wbGUuY29t?=",  # Hello\r\nBcc: victim@example.com
    "Hi\u2028there\u0085X-Injected: yes",
    "nul\x00byte",
    "=?bogus?q?broken?=",
    "=?utf-8?q?unterminated",
]
TYPES = ["text/plain", "text/html", "application/octet-stream", "image/jpeg", "application/pdf", "text/calendar"]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "bogus"]
KNOWN_OUTCOMES = {"draft", "report", "enquiry", "reply", "automatic", "own"}

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)
names = st.sampled_from(HOSTILE_NAMES) | st.text(max_size=300)
subjects = st.sampled_from(HOSTILE_SUBJECTS) | texts


def _encode(text: str, charset: str) -> bytes:
    try:
        return text.encode(charset or "utf-8", errors="replace")
    except (LookupError, UnicodeError, ValueError):
        return text.encode("utf-8", errors="surrogatepass")


def _body(data: bytes, cte: str) -> bytes:
    if cte == "base64":
        return base64.encodebytes(data)
    if cte == "quoted-printable":
        return quopri.encodestring(data)
    return data


def _header(value: str) -> bytes:
    """A header value as a careless or hostile mail program writes it: raw UTF-8, NULs kept, no folding rules."""
    return value.encode("utf-8", errors="surrogatepass").replace(b"\r", b" ").replace(b"\n", b" ")


@st.composite
def leaf(draw: st.DrawFn) -> bytes:
    ctype = draw(st.sampled_from(TYPES))
    charset = draw(st.sampled_from(CHARSETS + BOGUS_CHARSETS))
    cte = draw(st.sampled_from(ENCODINGS))
    if draw(st.booleans()):
        data = _encode(draw(texts), charset)
    else:
        data = draw(st.binary(max_size=300))
    head = b"Content-Type: " + ctype.encode() + b'; charset="' + _header(charset) + b'"'
    if draw(st.booleans()):
        name = _header(draw(names))
        head += b'; name="' + name + b'"\r\nContent-Disposition: attachment; filename="' + name + b'"'
    return head + b"\r\nContent-Transfer-Encoding: " + cte.encode() + b"\r\n\r\n" + _body(data, cte)


@functools.cache  # one strategy, built once: hypothesis reads a composite's source each time one is made
def tree(depth: int = 4) -> st.SearchStrategy[bytes]:
    """A MIME tree: leaves, multiparts of any subtype (some with a lying boundary), forwarded messages."""
    return st.recursive(leaf(), _containers, max_leaves=12) if depth else leaf()


def _containers(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    @st.composite
    def container(draw: st.DrawFn) -> bytes:
        kind = draw(st.sampled_from(["mixed", "alternative", "related", "rfc822", "digest", "report"]))
        if kind == "rfc822":
            inner = draw(children)
            return b"Content-Type: message/rfc822\r\n\r\nSubject: " + _header(draw(subjects)) + b"\r\n" + inner
        boundary = draw(st.sampled_from(["b1", "==", "x" * 70, "", "b1 b1"]))
        parts = draw(st.lists(children, max_size=4))
        body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
        if draw(st.booleans()):
            body += b"--" + boundary.encode() + b"--\r\n"  # sometimes never closed
        return b"Content-Type: multipart/" + kind.encode() + b'; boundary="' + boundary.encode() + b'"\r\n\r\n' + body

    return container()


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """A whole message: hostile headers over a random tree."""
    sender = draw(st.sampled_from(["jane@example.com", "Jane <jane@example.com>", "", "<>", "a@b@c", "\x00@x"]))
    lines = [
        b"From: " + _header(sender),
        b"To: smat.info@example.org",
        b"Subject: " + _header(draw(subjects)),
        b"Date: " + _header(draw(st.sampled_from(["Sat, 28 Nov 2026 10:00:00 +0000", "yesterday", ""]))),
    ]
    if draw(st.booleans()):
        lines.append(b"Message-ID: <" + _header(draw(st.text(max_size=40))) + b">")
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(["X-Random", "Auto-Submitted", "Precedence", "References", "Reply-To", "Cc"]))
        lines.append(name.encode() + b": " + _header(draw(texts)))
    return b"\r\n".join(lines) + b"\r\n" + draw(tree())


@dataclass
class Checked:
    """What the pure core made of the corpus: counts, timings (s), peak traced memory (bytes)."""

    count: int = 0
    crashes: list[str] = field(default_factory=list)
    unreadable: int = 0  # a ParseError: quarantined by the pipeline, with the reason
    outcomes: dict[str, int] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    peak_bytes: int = 0

    def p99(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[int(len(ordered) * 0.99)] if ordered else 0.0


def check_one(raw: bytes, checked: Checked, traced: bool = False) -> None:
    """Parse and classify one message as the pipeline does, and check what comes out is safe to use."""
    checked.count += 1
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        msg = parse(raw)
    except ParseError:
        checked.unreadable += 1
        return
    except Exception as exc:  # noqa: BLE001 - the finding itself
        checked.crashes.append(f"{type(exc).__name__}: {exc}")
        return
    finally:
        checked.seconds.append(time.perf_counter() - started)
        if traced:
            checked.peak_bytes = max(checked.peak_bytes, tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    try:
        verdict = classify.classify(msg, "smat.info@example.org", "example.org", False)
    except Exception as exc:  # noqa: BLE001
        checked.crashes.append(f"classify: {type(exc).__name__}: {exc}")
        return
    checked.outcomes[verdict.kind] = checked.outcomes.get(verdict.kind, 0) + 1
    problems = unsafe(msg)
    if problems:
        checked.crashes.append(f"unsafe output: {problems}")


def unsafe(msg: object) -> list[str]:
    """Anything in a parsed message that could become a header, a line break or a path where we use it."""
    problems = []
    subject = getattr(msg, "subject", "")
    if any(c in subject for c in "\r\n\x00\u2028\u2029\x85"):
        problems.append(f"subject {subject[:60]!r}")
    for att in getattr(msg, "attachments", ()):
        name = att.filename
        if not name or "/" in name or "\\" in name or name.startswith(".") or "\x00" in name or len(name) > 255:
            problems.append(f"file name {name[:60]!r}")
        if any(ord(c) < 32 for c in name):
            problems.append(f"file name {name[:60]!r} has a control character")
    return problems


def injected_headers(raw: bytes, allowed: set[str]) -> list[str]:
    """Header names in one of our outgoing mails that we do not write (an injection would add one)."""
    mail = message_from_bytes(raw, policy=SMTP)
    found = [k for k in mail.keys() if k.lower() not in allowed]
    found += [f"{k}: line break" for k, v in mail.items() if "\n" in str(v) or "\r" in str(v)]
    return found


def nested(levels: int) -> bytes:
    """A message nested `levels` deep in multipart/mixed."""
    head = b"From: jane@example.com\r\nTo: smat.info@example.org\r\nSubject: Nested\r\n"
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n) for n in range(levels)
    )
    closing = b"".join(b"\r\n--b%d--\r\n" % n for n in reversed(range(levels)))
    return head + opening + b"Content-Type: text/plain\r\n\r\ndeep\r\n" + closing


def many_parts(parts: int) -> bytes:
    """A message with `parts` small attachments."""
    head = b"From: jane@example.com\r\nTo: smat.info@example.org\r\nSubject: Parts\r\n"
    head += b'Content-Type: multipart/mixed; boundary="p"\r\n\r\n'
    one = b"--p\r\nContent-Type: application/octet-stream\r\n"
    one += b'Content-Disposition: attachment; filename="../../etc/passwd"\r\n\r\nx\r\n'
    return head + b"--p\r\nContent-Type: text/plain\r\n\r\nMany files.\r\n" + one * parts + b"--p--\r\n"


def big_body(megabytes: int) -> bytes:
    """A plain-text message with a body of `megabytes` MB (lines of 76 characters)."""
    line = b"A" * 76 + b"\r\n"
    body = line * (megabytes * 2**20 // len(line))
    return b"From: jane@example.com\r\nTo: smat.info@example.org\r\nSubject: Big\r\n\r\n" + body
