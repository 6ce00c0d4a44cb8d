"""The shape of the config table: a section, its keys and cross-key rules, and what absence means."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from intake.config.checks import Check

Values = Mapping[str, Any]


class Absent(Enum):
    """What a section left out of the file means."""

    REQUIRED = "required"  # an error
    NONE = "none"  # the feature is off: the setting is None (or no entries)
    DEFAULTS = "defaults"  # read as an empty table: every key takes its default


class _Required:
    """The default of a key that must be given."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Context:
    """What building a section may need besides its values: the file (for errors) and its folder."""

    file: Path
    base: Path


@dataclass(frozen=True)
class Key:
    """One key: name, type (str, int, bool, list of str; `object`: only its check), default, check, or default_from."""

    name: str
    kind: type
    default: Any = REQUIRED
    check: Check | None = None
    default_from: Callable[[Values], Any] | None = None


@dataclass(frozen=True)
class SecretKey:
    """A secret given inline as NAME or, better, as NAME_env naming an environment variable ("" if neither)."""

    name: str
    required: bool | Callable[[Values], bool]  # or decided by the keys read before it
    check: Check | None = None


@dataclass(frozen=True)
class Rule:
    """A check across a section's keys: when `broken(values)`, *key* is named with *problem*."""

    key: str
    problem: str
    broken: Callable[[Values], bool]


@dataclass(frozen=True)
class Section:
    """One TOML section: its keys, what its absence means, and how its values become settings.

    `field` is the Settings attribute it fills. A `many` section is an array of tables
    ([[people]]), each entry read with the same keys; `unique` names the keys (a string, or a
    list of strings) whose values no two may share across all entries, compared as `same` makes
    them, with the problem said of the second.
    """

    name: str
    field: str
    keys: tuple[Key | SecretKey, ...]
    build: Callable[[Values, Context], Any]
    absent: Absent = Absent.DEFAULTS
    rules: tuple[Rule, ...] = ()
    many: bool = False
    unique: tuple[tuple[str, ...], str] | None = None
    same: Callable[[str], str] = str.lower
