"""One cache of compiled SQL for all the engines a test process makes, so each statement is compiled once per run.

SQLAlchemy caches a statement's compiled form per engine (the key holds the engine's dialect object). The
service keeps one engine for its life, so it compiles each statement once; but nearly every test builds a
new service, hence a new engine, and compiled the same few hundred statements again: a fifth of the CPU of
the tests that take mail in (measured on seven of the product suite's files: 27.2 s -> 21.5 s user).

Here the key names the kind of dialect, the server's version and the parameter style instead of the object,
which is what the compiled SQL depends on; the SQL each engine sends is the same. Installed as each engine's
own cache (``Engine._compiled_cache``, what SQLAlchemy 2.0 reads when a connection names none) when it first
connects: setting the public ``compiled_cache`` execution option on every connection instead gave back a
third of the gain. Should SQLAlchemy rename that attribute, nothing breaks: engines keep their own caches.
A ``compiled_cache`` a test gives a connection still wins. Only the test process is affected: a
`python -m intake` child compiles for itself.

The ORM keeps a second cache, one per mapper (``Mapper._compiled_cache``, which it names as the
connection's cache when a flush writes rows), keyed the same way: each new service compiled every INSERT and
UPDATE of its first flushes again, about a third of its first draft's cost. The mappers share the same cache.
"""

from __future__ import annotations

from typing import Any

_installed: list[bool] = []


class _SharedCompiledCache:
    """The mapping SQLAlchemy reads and fills (``get`` and item assignment), keyed across engines."""

    def __init__(self, size: int = 5000) -> None:
        from sqlalchemy.util import LRUCache

        self._cache: Any = LRUCache(size)

    @staticmethod
    def _key(key: tuple[Any, ...]) -> tuple[Any, ...]:
        dialect = key[0]
        return ((type(dialect), dialect.server_version_info, dialect.paramstyle), *key[1:])

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        return self._cache.get(self._key(key), default)

    def __setitem__(self, key: tuple[Any, ...], value: Any) -> None:
        self._cache[self._key(key)] = value


def share_compiled_statements() -> None:
    """From now on every new connection of every engine in this process uses the one shared cache."""
    if _installed:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Connection, Engine

    shared = _SharedCompiledCache()

    def share(connection: Connection) -> None:
        engine = connection.engine
        own = getattr(engine, "_compiled_cache", None)
        if own is not None and own is not shared:  # None: this engine was made without a cache
            engine._compiled_cache = shared  # type: ignore[attr-defined]  # see the module's docstring

    event.listen(Engine, "engine_connect", share)
    from intake.store.models import Base

    for mapper in Base.registry.mappers:
        mapper._compiled_cache = shared  # type: ignore[misc]  # a memoized attribute; a reconfigure makes a new one
    _installed.append(True)
