"""Bastidor's persistent work queue: run requests and work items with leases, heartbeats and history.

    queue = open_work_queue("runs/queue.db")
    queue.add_items("orders", [NewItem("A-1", {"qty": 2})])
    item = queue.claim_item("orders", worker, lease_s=60)   # heartbeat_item() while working
    queue.complete_item(item.id, worker)                    # or fail_item / postpone_item / release_item

`SqliteWorkQueue` is the embedded backend (one machine, any number of processes). A distributed
backend (PostgreSQL with Procrastinate) implements the same `WorkQueue` interface.
"""

from __future__ import annotations

from pathlib import Path

from bastidor.queue.base import LeaseLost, NotFound, QueueError, WorkQueue, new_worker_name
from bastidor.queue.records import (
    ITEM_STATES,
    RUN_STATES,
    AddResult,
    ItemEvent,
    NewItem,
    ReapResult,
    RunEvent,
    RunRequest,
    WaitingWork,
    WorkItem,
)
from bastidor.queue.retry import Backoff
from bastidor.queue.sqlite import SqliteWorkQueue

__all__ = [
    "ITEM_STATES",
    "RUN_STATES",
    "AddResult",
    "Backoff",
    "ItemEvent",
    "LeaseLost",
    "NewItem",
    "NotFound",
    "QueueError",
    "ReapResult",
    "RunEvent",
    "RunRequest",
    "SqliteWorkQueue",
    "WaitingWork",
    "WorkItem",
    "WorkQueue",
    "new_worker_name",
    "open_work_queue",
]


def open_work_queue(location: str | Path, *, backoff: Backoff = Backoff()) -> WorkQueue:
    """Open the work queue at `location`: a SQLite file path (folders created) or a ``sqlite:///`` URL."""
    text = str(location)
    if text.startswith("sqlite:///"):
        return SqliteWorkQueue(text.removeprefix("sqlite:///"), backoff=backoff)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise QueueError(
            f"The work queue cannot use {scheme!r} yet: only SQLite is built in. Give a file path such as "
            "runs/queue.db (a PostgreSQL backend is planned)."
        )
    return SqliteWorkQueue(text, backoff=backoff)
