"""The layers hold: adapters import no orchestration, and only store/ speaks SQL.

Importing a source must not drag in the parser (lxml), the templates (Jinja) or, for the
listener, the database layer: each check runs in a fresh interpreter, so nothing imported
by other tests can hide a stray import.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from support import migrated

INTAKE = Path(__file__).resolve().parent.parent / "intake"

# The reply step is being rewritten without SQL on its own branch; drop it from here when that lands.
NOT_YET_MOVED: set[str] = set()


def modules_loaded_by(module: str) -> set[str]:
    """The top-level packages and intake modules a fresh interpreter holds after importing `module`."""
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


def test_importing_the_listener_pulls_in_no_database_templates_or_parser():
    loaded = modules_loaded_by("intake.sources.listener")
    assert "aiosmtpd" in loaded  # the check sees what the listener does import
    assert not {"sqlalchemy", "jinja2", "lxml", "intake.pipeline", "intake.store"} & loaded


def test_importing_the_imap_source_pulls_in_no_orchestration_templates_or_parser():
    loaded = modules_loaded_by("intake.sources.imap")
    assert "imap_tools" in loaded
    assert not {"jinja2", "lxml", "intake.pipeline", "intake.message", "intake.render"} & loaded


def test_only_the_store_imports_sqlalchemy():
    speaking_sql = sorted(
        str(path.relative_to(INTAKE))
        for path in INTAKE.rglob("*.py")
        if re.search(r"^\s*(from|import)\s+sqlalchemy\b", path.read_text(), re.MULTILINE)
    )
    assert "store/models.py" in speaking_sql  # the check finds the imports it looks for
    outside = [p for p in speaking_sql if not p.startswith("store/") and p not in NOT_YET_MOVED]
    assert outside == []


def test_history_lines_are_written_in_one_place():
    # The model built (not threading.Event), or an INSERT into its table.
    builds_an_event = re.compile(r"(?<!class )(?<![\w.])Event\(|insert\(Event\b")
    writers = sorted(
        str(path.relative_to(INTAKE)) for path in INTAKE.rglob("*.py") if builds_an_event.search(path.read_text())
    )
    assert writers == ["store/history.py"]


def test_building_the_service_imports_neither_alembic_nor_the_scheduler_nor_the_word_list(tmp_path):
    # Every command but `init` and `run` builds the service and no more: Alembic (checking the revision),
    # APScheduler and the profanity list cost each such command a fifth of a second at start.
    url = migrated(f"sqlite:///{tmp_path}/smat.db")
    code = (
        "import sys; from pathlib import Path; from support import settings_for; from intake.service import Service; "
        f"Service.build(settings_for(Path({str(tmp_path)!r}), {url!r})).close(); "
        "print('\\n'.join(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=INTAKE.parent / "tests"
    ).stdout
    loaded = set(out.split())
    assert {"sqlalchemy", "intake.pipeline", "intake.store.db"} <= loaded  # the check sees the service built
    assert not {"alembic", "apscheduler", "glin_profanity"} & loaded
