"""Alembic environment: runs against the engine smat-intake hands over (no alembic.ini needed)."""

from __future__ import annotations

from alembic import context

from intake.store.models import Base

target_metadata = Base.metadata
engine = context.config.attributes.get("engine")
if engine is None:  # pragma: no cover - only when run by the bare alembic command
    from sqlalchemy import create_engine

    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    raw = connection.connection.driver_connection if sqlite else None
    if raw is not None:
        # SQLite changes a table by copying it (batch mode); with foreign keys on, dropping
        # the old copy fails while other tables point at it. The pragma only works outside
        # a transaction, so it is set on the driver's connection before ours begins.
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=ON")
            broken = raw.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"a migration left rows pointing at nothing: {broken[:5]}")
