"""Bastidor's run store: runs, items and steps behind the `RunStore` interface.

`open_run_store("runs/bastidor.db")` gives the embedded SQLite store; a SQLAlchemy URL such as
``postgresql://...`` selects another backend.
"""

from bastidor.store.base import AmbiguousRunIdError, RunNotFoundError, RunStore, StoreError
from bastidor.store.records import ItemRecord, RunRecord, StepRecord, utc_now
from bastidor.store.sql import SqlRunStore, open_run_store

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
