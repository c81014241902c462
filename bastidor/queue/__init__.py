"""Bastidor's persistent work queue: run requests and work items with leases, heartbeats and history.

    queue = open_work_queue("runs/queue.db")
    queue.add_items("orders", [NewItem("A-1", {"qty": 2})])
    item = queue.claim_item("orders", worker, lease_s=60)   # heartbeat_item() while working
    queue.complete_item(item.id, worker)                    # or fail_item / postpone_item / release_item

`SqliteWorkQueue` is the embedded backend (one machine, any number of processes); `PostgresWorkQueue`
keeps the same tables in a PostgreSQL database shared by many machines. Both run the same operations
(`bastidor.queue.sql_queue`) and pass the same contract tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bastidor.lazy import lazy_exports

_EXPORTS = {
    "LeaseLost": "base", "NotFound": "base", "OutcomeUnknown": "base", "QueueError": "base", "WorkQueue": "base",
    "new_worker_name": "base",
    "ITEM_STATES": "records", "RUN_STATES": "records", "AddResult": "records", "ItemEvent": "records",
    "NewItem": "records", "ReapResult": "records", "RunEvent": "records", "RunRequest": "records",
    "WaitingWork": "records", "WorkItem": "records",
    "Backoff": "retry",
    "SqliteWorkQueue": "sqlite",
    "PostgresWorkQueue": "postgres",
}
"""Each exported name and the module it lives in: imported on first use (see `bastidor.lazy`), so naming
`QueueError` or `ITEM_STATES` does not load SQLAlchemy."""
__getattr__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from bastidor.queue.base import WorkQueue
    from bastidor.queue.retry import Backoff

__all__ = [
    "ITEM_STATES",
    "RUN_STATES",
    "AddResult",
    "Backoff",
    "ItemEvent",
    "LeaseLost",
    "NewItem",
    "NotFound",
    "OutcomeUnknown",
    "PostgresWorkQueue",
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


def open_work_queue(location: str | Path, *, backoff: Backoff | None = None,
                    reconnect_s: float | None = None) -> WorkQueue:
    """Open the work queue at `location`: a SQLite file path (folders created), a ``sqlite:///`` URL, or a
    PostgreSQL URL (``postgresql+psycopg://user@host:5432/name``), whose lost connections are retried for
    `reconnect_s` seconds (default: $BASTIDOR_DATABASE_RETRY_S, else 60)."""
    from bastidor.database.places import is_postgres, normalized_url
    from bastidor.queue.base import QueueError
    from bastidor.queue.retry import Backoff
    from bastidor.queue.sqlite import SqliteWorkQueue

    backoff = Backoff() if backoff is None else backoff
    text = str(location)
    if text.startswith("sqlite:///"):
        return SqliteWorkQueue(text.removeprefix("sqlite:///"), backoff=backoff)
    if is_postgres(text):
        from bastidor.queue.postgres import PostgresWorkQueue

        return PostgresWorkQueue(normalized_url(text), backoff=backoff, reconnect_s=reconnect_s)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise QueueError(
            f"The work queue cannot use {scheme!r}: give a file path such as runs/queue.db for SQLite, or a "
            "PostgreSQL URL such as postgresql+psycopg://bastidor@dbhost:5432/bastidor."
        )
    return SqliteWorkQueue(text, backoff=backoff)
