"""Running a component's migrations: the schema lock, and Alembic driven from code (no alembic.ini).

The lock makes an upgrade happen once when several processes find the same database behind at the same
moment: SQLite's write lock (``BEGIN IMMEDIATE``, on a connection of its own), on PostgreSQL an advisory lock
held until the transaction ends. Whoever waited reads the version again and finds it at head. All of a
component's migrations run in that one transaction; PostgreSQL and SQLite both undo the DDL on failure.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

from bastidor.database.migrations.history import MIGRATIONS, versions_folder

SCHEMA_LOCK_KEY = 3_649_391_105_169_200_446
"""The PostgreSQL advisory lock (one bigint key) held while a schema is upgraded: the first 8 bytes of
sha256("bastidor schema upgrade"), so no other lock of Bastidor's shares it."""
SQLITE_BUSY_TIMEOUT_MS = 30_000

_alembic_runs = threading.Lock()  # Alembic's `op` and `context` are module globals: one run per process at a time


@contextmanager
def locked_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction on `engine`'s database that holds the write lock from its start (SQLite files), or a
    plain one (PostgreSQL takes its lock in `lock_schema`; an in-memory SQLite database has one user)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        with engine.begin() as connection:
            yield connection
        return
    writer = _sqlite_writer(engine)
    try:
        with writer.begin() as connection:
            yield connection
    finally:
        writer.dispose()


def lock_schema(connection: Connection) -> None:
    """Wait for, then hold until the transaction ends, the right to upgrade schemas (PostgreSQL; a SQLite
    connection already holds the file's write lock)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})


def run_upgrade(connection: Connection, component: str, target: str = "head") -> None:
    """Run `component`'s migrations up to `target` inside `connection`'s transaction."""
    from alembic import command

    with _alembic_runs:
        command.upgrade(alembic_config(connection, component), target)


def alembic_config(connection: Connection | None, component: str) -> Any:
    """An Alembic `Config` for `component`: this package's environment, the component's revisions, and the
    connection handed to `env.py` through `attributes`."""
    from argparse import Namespace

    from alembic.config import Config

    config = Config(cmd_opts=Namespace(quiet=True))
    for option, value in {"script_location": str(MIGRATIONS), "version_locations": str(versions_folder(component)),
                          "path_separator": "os", "version_path_separator": "os"}.items():
        config.set_main_option(option, value.replace("%", "%%"))
    config.attributes.update(connection=connection, component=component)
    return config


def _sqlite_writer(engine: Engine) -> Engine:
    """A one-connection engine on the same SQLite file whose transactions start with ``BEGIN IMMEDIATE``."""
    writer = create_engine(engine.url, poolclass=NullPool)

    @event.listens_for(writer, "connect")
    def _configure(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver leaves transactions to us
        dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")

    @event.listens_for(writer, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return writer
