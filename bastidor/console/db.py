"""The console's own SQLite database (home/console.db): users, exception workflow, flow versions.

Each console module defines its own `Table`s on its own `MetaData` and calls ``create_all(engine)``
on first use; this module only opens the engine with the same SQLite settings as the run store
(WAL, a busy timeout, foreign keys).
"""

from __future__ import annotations

from pathlib import Path
from sqlalchemy import Engine, create_engine, event

from bastidor.store.sql import configure_sqlite_connection


def open_console_db(path: str | Path) -> Engine:
    """A SQLAlchemy engine on the SQLite file at `path` (its folder is created when missing)."""
    path = Path(path).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", configure_sqlite_connection)
    return engine
