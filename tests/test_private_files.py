"""Files holding live reply keys are this user's only: 0600 files in 0700 folders (issue 7 item 10)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from support import write_config

from intake import cli
from intake.delivery.folder import FolderTransport
from intake.store.db import make_engine

MESSAGES = Path(__file__).parent / "messages"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common 022: without the fix, everything is created readable by every user."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


def test_init_makes_the_database_and_its_folder_private(config: Path) -> None:
    assert cli.main(["--config", str(config), "init"]) == 0
    var = config.parent / "var"
    assert mode(var) == 0o700
    assert mode(var / "smat.db") == 0o600
    engine = make_engine(f"sqlite:///{var / 'smat.db'}")
    try:
        with engine.connect() as conn:  # an open WAL connection: the -wal and -shm files exist now
            conn.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
            conn.execute(text("INSERT INTO probe VALUES (1)"))
            for suffix in ("-wal", "-shm"):
                side = var / f"smat.db{suffix}"
                assert side.exists(), suffix
                assert mode(side) == 0o600, suffix
    finally:
        engine.dispose()


def test_an_existing_folder_is_left_as_it_is(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    engine = make_engine(f"sqlite:///{shared / 'smat.db'}")
    engine.dispose()
    assert mode(shared) == 0o755  # not ours to change
    assert mode(shared / "smat.db") == 0o600


def test_delivered_mail_is_private(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--config", str(config), "init"]) == 0
    assert cli.main(["--config", str(config), "ingest", str(MESSAGES / "plain_draft.eml")]) == 0
    outbox = config.parent / "outbox"
    files = sorted(outbox.glob("*.eml"))
    assert files, capsys.readouterr()
    assert mode(outbox) == 0o700
    assert {mode(f) for f in files} == {0o600}


def test_the_folder_transport_writes_private_files(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / "outbox"
    FolderTransport(folder).send("smat.info@town.example", ["clerk@town.example"], b"Subject: x\r\n\r\nkey\r\n")
    assert mode(folder) == 0o700
    (written,) = folder.iterdir()
    assert written.suffix == ".eml" and mode(written) == 0o600
