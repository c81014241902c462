"""Bastidor's run store: runs, items and steps behind the `RunStore` interface.

`open_run_store("runs/bastidor.db")` gives the embedded SQLite store; a PostgreSQL URL
(``postgresql+psycopg://user@host/name``, usually `places_for(home).runs`) the store every machine shares,
which rides out lost connections (`bastidor.store.reconnect`).
"""

from bastidor.lazy import lazy_exports

_EXPORTS = {
    "AmbiguousRunIdError": "base", "RunNotFoundError": "base", "RunStore": "base", "StoreError": "base",
    "ItemRecord": "records", "RunRecord": "records", "StepRecord": "records", "utc_now": "records",
    "SqlRunStore": "sql", "open_run_store": "sql",
}
"""Each exported name and the module it lives in: imported on first use (see `bastidor.lazy`), so naming
`RunStore` or `StoreError` does not load SQLAlchemy."""
__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "AmbiguousRunIdError",
    "ItemRecord",
    "RunNotFoundError",
    "RunRecord",
    "RunStore",
    "SqlRunStore",
    "StepRecord",
    "StoreError",
    "open_run_store",
    "utc_now",
]
