"""Message-IDs and MIME boundaries of our mail come from `secrets`, not Python's `random` (issue 7 item 11)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest

from intake.render import Composer, FileToAttach, Outgoing, Recipient


@pytest.fixture
def composer(tmp_path: Path) -> Composer:
    """A composer over a template folder of its own, so template rewrites elsewhere do not matter."""
    folder = tmp_path / "ids"
    folder.mkdir()
    (folder / "subject.txt").write_text("Thank you\n")
    (folder / "body.txt").write_text("Plain text\n")
    (folder / "body.html").write_text("<p>HTML</p>\n")
    return Composer(templates=tmp_path, from_address="smat.info@council.example", from_name="SMAT")


def compose(composer: Composer) -> Outgoing:
    """Mail with three multiparts: mixed around alternative, with a file."""
    return composer.compose(
        "acknowledgement",
        Recipient("jane@example.org", "Jane"),
        {},
        template="ids",
        attachments=(FileToAttach("photo.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 not really"),),
    )


def boundaries(out: Outgoing) -> list[str]:
    msg = message_from_bytes(out.raw, policy=default)
    return [str(part.get_boundary()) for part in msg.walk() if part.is_multipart()]


def test_ids_and_boundaries_differ_with_random_seeded_alike(composer: Composer) -> None:
    random.seed(7)
    first = compose(composer)
    random.seed(7)
    second = compose(composer)
    assert first.message_id != second.message_id
    assert len(boundaries(first)) == 2
    assert not set(boundaries(first)) & set(boundaries(second))


def test_random_is_never_drawn_on(composer: Composer, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def spy(name: str) -> Callable[..., Any]:
        original = getattr(random, name)

        def recorded(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return original(*args, **kwargs)

        return recorded

    for name in ("getrandbits", "randrange", "random", "randint", "choice"):
        monkeypatch.setattr(random, name, spy(name))
    out = compose(composer)
    assert calls == []
    assert re.fullmatch(r"[0-9a-f]{32}\.smat@council\.example", out.message_id)
    assert all(re.fullmatch(r"=_[0-9a-f]{32}", b) for b in boundaries(out))
    assert message_from_bytes(out.raw, policy=default)["Message-ID"] == f"<{out.message_id}>"
