"""The run store interface. Every backend (a SQLite file, a shared PostgreSQL database) implements `RunStore`.

The same contract tests (tests/test_run_store.py) run against every backend. A write that a backend sends
again after losing its connection is stored once: sending it again is never a duplicate of itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Sequence

from bastidor.store.records import ItemRecord, RunRecord, StepRecord


class StoreError(RuntimeError):
    """The run store refused an operation; the message says what is wrong and how to fix it."""


class RunNotFoundError(StoreError):
    """No run has the given id."""


class AmbiguousRunIdError(StoreError):
    """A run id prefix matches more than one run."""


class RunStore(ABC):
    """Keeps runs, their items and their steps. Each call is one short transaction."""

    @abstractmethod
    def create_run(self, run: RunRecord) -> None:
        """Add a new run; raise `StoreError` if a run with that id exists."""

    @abstractmethod
    def update_run(self, run_id: str, **fields: Any) -> None:
        """Set `fields` (RunRecord field names) on the run; raise `RunNotFoundError` if it does not exist."""

    @abstractmethod
    def add_steps(self, steps: Sequence[StepRecord]) -> None:
        """Add step records in one transaction; raise `StoreError` on a duplicate seq or an unknown run."""

    def add_step(self, step: StepRecord) -> None:
        """Add one step record."""
        self.add_steps([step])

    @abstractmethod
    def upsert_item(self, item: ItemRecord) -> None:
        """Insert the item, or replace the stored item with the same run_id and item_ref."""

    @abstractmethod
    def close_orphaned_run(self, run_id: str, reason: str, *, status: str = "crashed",
                           outcomes: Mapping[str, str] | None = None) -> bool:
        """End a run whose process died while it was running: the run becomes `status` (crashed) with
        `reason`; each unfinished item becomes successful when `outcomes` (the work queue's state by
        reference) says it was done, otherwise failed (application); the run's counts are recounted from its
        items. False, and nothing changes, when the run is not running."""

    @abstractmethod
    def get_run(self, run_id: str) -> RunRecord | None:
        """Return the run with this id or unique id prefix, None if none; `AmbiguousRunIdError` if several."""

    @abstractmethod
    def list_runs(self, limit: int = 50, flow: str | None = None, status: str | None = None) -> list[RunRecord]:
        """Return up to `limit` runs, newest first, optionally only of one flow and/or one status."""

    @abstractmethod
    def list_items(self, run_id: str) -> list[ItemRecord]:
        """Return the items of a run in the order they started."""

    @abstractmethod
    def list_steps(self, run_id: str) -> list[StepRecord]:
        """Return the steps of a run ordered by seq."""

    @abstractmethod
    def close(self) -> None:
        """Release connections. The store cannot be used afterwards."""

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
