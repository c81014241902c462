"""The console's own database: users, sessions, exception workflow, flow versions.

Embedded, it is the SQLite file home/console.db (with the run store's settings: WAL, a busy timeout,
foreign keys). With a shared database (`places_for(home).console` is then its URL) the console's tables
live in PostgreSQL beside every other store's, so users added on one machine sign in on any console, and
the engine is the process's shared one. Each console module defines its own `Table`s and calls
`prepare_tables(engine, "console")` on first use.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from bastidor.store.engines import database_url, open_engine


def open_console_db(location: str | Path) -> Engine:
    """An engine on the console database at `location`: a SQLite file path (its folder is created when
    missing) or the shared PostgreSQL URL."""
    engine, _shared = open_engine(database_url(location))
    return engine


def close_console_db(engine: Engine) -> None:
    """Release the console database's connections; a shared PostgreSQL engine stays open for the process's
    other stores (it is closed with `bastidor.database.engines.close_engines`)."""
    if engine.dialect.name == "sqlite":
        engine.dispose()
