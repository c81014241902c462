"""Which tables each store owns, and making sure they exist before a store uses them.

A *component* is a set of tables that live together: in their own SQLite file in the home folder
(`queue.db`, `runs.db`, `console.db`, `notifications.db`), or side by side in the shared PostgreSQL
database. `prepare_tables(bind, component)` is called by every store when it opens.
"""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import MetaData

COMPONENTS: dict[str, tuple[str, ...]] = {
    "queue": ("bastidor.queue.schema", "bastidor.service.pauses"),
    "runs": ("bastidor.store.schema",),
    "console": ("bastidor.console.users", "bastidor.console.sessions", "bastidor.console.data.exceptions",
                "bastidor.console.data.flow_versions"),
    "notifications": ("bastidor.notify.sentlog",),
}
"""Each component and the modules whose `metadata` holds its tables."""


def component_metadata(component: str) -> list[MetaData]:
    """The `MetaData` of every module of `component`."""
    return [importlib.import_module(name).metadata for name in COMPONENTS[component]]


def prepare_tables(bind: Any, component: str) -> None:
    """Create `component`'s missing tables (and the columns an older Bastidor did not have) on `bind`,
    an engine or a connection."""
    for metadata in component_metadata(component):
        metadata.create_all(bind)
    if component == "queue":
        from bastidor.queue.schema import ADDED_COLUMNS, ADDED_INDEXES
        from bastidor.store.schema import add_missing_columns

        _with_connection(bind, lambda connection: add_missing_columns(connection, ADDED_COLUMNS, ADDED_INDEXES))
    elif component == "runs":
        from bastidor.store.schema import add_missing_columns

        _with_connection(bind, add_missing_columns)


def _with_connection(bind: Any, work: Any) -> None:
    if hasattr(bind, "begin") and not hasattr(bind, "in_transaction"):
        with bind.begin() as connection:
            work(connection)
    else:
        work(bind)
