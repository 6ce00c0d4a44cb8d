"""The walker: TOML text -> checked values, section by section as `sections.TABLE` declares them.

Every mistake is one sentence naming the file and the key, e.g.
`config.toml: [imap] port must be a whole number, not "abc".`
"""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Any, NoReturn

from intake.config.checks import Check, kind_name, show
from intake.config.sections import SECTIONS, TABLE
from intake.config.settings import Settings
from intake.config.table import REQUIRED, Absent, Context, Key, SecretKey, Section
from intake.errors import ConfigError


def load(path: Path | str) -> Settings:
    """Read and validate a config file; raise ConfigError naming the file and key at fault. Writes nothing."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no such config file; copy config.example.toml to {file.name} and edit it, or pass --config PATH."
        ) from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read ({exc.strerror}).") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: is not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: is not valid TOML: {exc}.") from None
    return from_dict(data, file)


def from_dict(data: dict[str, Any], file: Path) -> Settings:
    """Validate already-parsed TOML; relative paths are taken from the file's folder."""
    for name in data:
        if name not in SECTIONS:
            hint = difflib.get_close_matches(name, SECTIONS, n=1)
            suggestion = f" (did you mean [{hint[0]}]?)" if hint else ""
            raise ConfigError(f"{file}: [{name}] is not a known section{suggestion}.")
    context = Context(file=file, base=file.resolve().parent)
    fields = {section.field: _read(section, data, context) for section in TABLE}
    for name in ("imap", "smtp"):
        if getattr(fields[name], "auth", "") == "oauth2" and fields["oauth2"] is None:
            raise ConfigError(f'{file}: [{name}] auth = "oauth2" needs an [oauth2] section (where tokens come from).')
    return Settings(path=file, base_dir=context.base, **fields)


def _read(section: Section, data: dict[str, Any], context: Context) -> Any:
    """One section's settings: from its table, or what its absence means."""
    if section.many:
        return _read_many(section, data.get(section.name, []), context)
    if section.name not in data:
        if section.absent is Absent.REQUIRED:
            raise ConfigError(f"{context.file}: [{section.name}] is required but missing.")
        if section.absent is Absent.NONE:
            return None
    return _Table(context.file, f"[{section.name}]", data.get(section.name, {})).read(section, context)


def _read_many(section: Section, entries: Any, context: Context) -> tuple[Any, ...]:
    """An array of tables ([[people]]): each entry read alike, numbered from 1 in errors."""
    if not isinstance(entries, list):
        raise ConfigError(
            f"{context.file}: [[{section.name}]] must be a list of tables, each starting with [[{section.name}]]."
        )
    built: list[Any] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        table = _Table(context.file, f"[[{section.name}]] #{number}", entry)
        built.append(table.read(section, context))
        if section.unique is not None:
            keys, problem = section.unique
            for key in keys:
                given = table.data.get(key, [])
                for value in given if isinstance(given, list) else [given]:
                    if section.same(value) in seen:
                        table.fail(key, f"{show(value)} {problem}")
                    seen.add(section.same(value))
    return tuple(built)


class _Table:
    """Reads one TOML table, recording which keys were used so unknown ones can be named."""

    def __init__(self, file: Path, label: str, data: Any):
        self.file = file
        self.label = label
        if not isinstance(data, dict):
            self.fail(None, f"must be a table, not {kind_name(data)}")
        self.data: dict[str, Any] = data
        self.known: set[str] = set()

    def fail(self, key: str | None, problem: str) -> NoReturn:
        """Stop with one sentence naming the file, the section and the key."""
        raise ConfigError(f"{self.file}: {self.label}{f' {key}' if key else ''} {problem}.")

    def read(self, section: Section, context: Context) -> Any:
        """Every key in the table's order, the section's rules, no unknown keys; then build the settings."""
        values: dict[str, Any] = {}
        for key in section.keys:
            values[key.name] = self.secret(key, values) if isinstance(key, SecretKey) else self.get(key, values)
        for rule in section.rules:
            if rule.broken(values):
                self.fail(rule.key, rule.problem)
        self.finish()
        return section.build(values, context)

    def get(self, key: Key, earlier: dict[str, Any]) -> Any:
        """One key, type-checked and checked, or its default."""
        self.known.add(key.name)
        if key.name not in self.data:
            if key.default_from is not None:
                return key.default_from(earlier)
            if key.default is REQUIRED:
                # A misspelt required key (`hostname` for `host`) is named as the typo it is.
                typo = difflib.get_close_matches(key.name, [k for k in self.data if k not in self.known], n=1)
                if typo:
                    self.fail(typo[0], f"is not a known key (did you mean {key.name}?)")
                self.fail(key.name, "is required but missing")
            return key.default
        value = self.data[key.name]
        if key.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            self.fail(key.name, f"must be a whole number, not {show(value)}")
        if key.kind is bool and not isinstance(value, bool):
            self.fail(key.name, f"must be true or false, not {show(value)}")
        if key.kind is str and not isinstance(value, str):
            self.fail(key.name, f"must be a string in quotes, not {show(value)}")
        if key.kind is list and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            self.fail(key.name, f'must be a list of strings in quotes, such as ["name@example.org"], not {show(value)}')
        self.check(key.name, value, key.check)
        return value

    def secret(self, key: SecretKey, earlier: dict[str, Any]) -> str:
        """A secret given inline as KEY or, better, as KEY_env naming an environment variable."""
        name = key.name
        required = key.required(earlier) if callable(key.required) else key.required
        inline = self.get(Key(name, str, None), {})
        env_name = self.get(Key(f"{name}_env", str, None), {})
        if inline is not None and env_name is not None:
            self.fail(name, f"and {name}_env are both set; give only one")
        value: str
        if env_name is not None:
            value = os.environ.get(env_name) or ""
            if not value:
                self.fail(f"{name}_env", f"names the environment variable {env_name}, which is not set")
        elif inline is not None:
            value = inline
        elif required:
            self.fail(
                name,
                f"is required: set {name}_env to the name of an environment variable holding it (or {name} inline)",
            )
        else:
            value = ""
        self.check(f"{name}_env" if env_name is not None else name, value, key.check)
        return value

    def check(self, name: str, value: Any, check: Check | None) -> None:
        """Run a key's own check, naming *name* if it finds a problem."""
        if check is not None:
            problem = check(value)
            if problem:
                self.fail(name, problem)

    def finish(self) -> None:
        """Name the first key nobody asked for, with the nearest known key as a hint."""
        for key in self.data:
            if key not in self.known:
                hint = difflib.get_close_matches(key, sorted(self.known), n=1)
                suggestion = f" (did you mean {hint[0]}?)" if hint else ""
                self.fail(key, f"is not a known key{suggestion}")
