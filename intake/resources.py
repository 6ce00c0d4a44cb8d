"""Where the templates and migrations are, in a wheel, an editable install or a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The installed copy inside the package if there is one, else the checkout's top-level folder."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the {name}/ folder is missing from this installation of smat-intake")


def templates_dir() -> Path:
    """The Jinja2 templates for outgoing mail."""
    return resource_dir("templates")


def migrations_dir() -> Path:
    """The Alembic migrations."""
    return resource_dir("migrations")


def response_texts(templates: Path) -> dict[str, str]:
    """The standard responses' files (templates/responses/<key>.txt) as {key: text}, for intake.responses."""
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted((templates / "responses").glob("*.txt"))}
