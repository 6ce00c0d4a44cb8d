"""Units of work: one transaction or one read, with database failures turned into `intake.errors`.

Code outside store/ opens its transactions here, so it never names a SQLAlchemy exception:
an unreachable or busy database is a `StorageError` (try again later), a clash on a unique
key a `StorageConflict`, anything else the database refuses a `StorageRejected`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from intake.errors import StorageConflict, StorageError, StorageRejected
from intake.store.db import READ_ONLY, Session, Sessions


@contextmanager
def _as_storage_errors(doing: str) -> Iterator[None]:
    """Database failures raised in the block as `intake.errors`, each saying what could not be done."""
    try:
        yield
    except OperationalError as exc:
        raise StorageError(f"the database could not {doing}: {exc.orig}") from exc
    except IntegrityError as exc:
        raise StorageConflict(f"the database could not {doing}: {exc.orig}") from exc
    except SQLAlchemyError as exc:
        raise StorageRejected(f"the database could not {doing}: {_reason(exc)}") from exc


@contextmanager
def transaction(sessions: Sessions, doing: str = "complete the change") -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises; `doing` names the work."""
    with _as_storage_errors(doing), sessions.begin() as session:
        yield session


@contextmanager
def single_statement(sessions: Sessions, doing: str) -> Iterator[Connection]:
    """A connection for one statement that needs no transaction around it: on PostgreSQL in autocommit, one
    round trip instead of three (BEGIN, the statement, COMMIT); on SQLite in a transaction, as above."""
    engine = sessions.kw["bind"]
    if engine.dialect.name != "postgresql":
        with transaction(sessions, doing) as session:
            yield session.connection()
        return
    with _as_storage_errors(doing), engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def reading(sessions: Sessions, doing: str = "be read") -> Iterator[Session]:
    """A session for reads only; nothing is committed."""
    with _as_storage_errors(doing), sessions() as session:
        session.connection(execution_options={READ_ONLY: True})  # SQLite: no write lock for a read
        yield session


def _reason(exc: SQLAlchemyError) -> object:
    """The driver's own words where there are any, without the statement and its parameters."""
    return getattr(exc, "orig", None) or exc
