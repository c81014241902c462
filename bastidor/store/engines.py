"""The database engine under a run store (or the console's database): a SQLite file of its own, or the
process's shared PostgreSQL engine.

SQLite connections use WAL mode (readers never block the writer), a busy timeout (concurrent writers
wait instead of failing) and foreign keys. A PostgreSQL engine is shared by every store of the process
(`bastidor.database.engines.postgres_engine`) and is never disposed by one of them.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from bastidor.database.engines import dumps_json
from bastidor.database.places import is_postgres, normalized_url, safe_url

SQLITE_BUSY_TIMEOUT_MS = 30_000


def database_url(location: str | Path) -> str:
    """The SQLAlchemy URL of `location`: a PostgreSQL URL (normalised), another URL as given, or a
    SQLite file path (its folders created)."""
    text = str(location)
    if is_postgres(text):
        return normalized_url(text)
    if "://" in text:
        return text
    path = Path(location).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def open_engine(url: str) -> tuple[Engine, bool]:
    """The engine for `url` and whether it is shared (PostgreSQL: never dispose it)."""
    if is_postgres(url):
        from bastidor.database.engines import postgres_engine

        return postgres_engine(url), True
    engine = create_engine(url, json_serializer=dumps_json)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", configure_sqlite_connection)
    return engine, False


def describe(engine: Engine) -> str:
    """Where `engine` points, for messages: the SQLite file, or the URL with its password hidden."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        return url.database
    return safe_url(url.render_as_string(hide_password=False))


def configure_sqlite_connection(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLAlchemy "connect" listener for Bastidor's SQLite files: a busy timeout, WAL and foreign keys."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    enable_wal(cursor, SQLITE_BUSY_TIMEOUT_MS / 1000)
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def enable_wal(cursor: Any, timeout_s: float) -> None:
    """Switch a SQLite connection to WAL, retrying while locked: SQLite answers this pragma "database is
    locked" at once, without its busy timeout, while another process converts or checkpoints the file."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
