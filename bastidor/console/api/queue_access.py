"""The run requests and work items the API reads and writes, through the work queue's own transactions.

`add_all_or_none` adds a batch of items in one transaction of the queue's database (with the same lock and
rows as `WorkQueue.add_items`), and rolls it back when any reference is already in the queue, so a batch is
added whole or not at all and a client can send it again without duplicating anything. `request_id` finds
the run request a key was given to (`WorkQueue.enqueue_run` answers only whether it was added).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from bastidor.queue import NewItem, WorkQueue, item_ops
from bastidor.queue.records import AddResult
from bastidor.queue.schema import run_requests, work_items
from bastidor.store.records import utc_now


class DuplicateReferences(Exception):
    """Some references of a batch are in the queue already; nothing of the batch was added."""

    def __init__(self, result: AddResult) -> None:
        self.references = [*result.already_queued, *result.already_processed, *result.previously_failed]
        super().__init__(", ".join(self.references))


def add_all_or_none(queue: WorkQueue, queue_name: str, items: Sequence[NewItem],
                    max_attempts: int = 3) -> dict[str, int]:
    """Add every item, or none when a reference is taken (`DuplicateReferences`); the new ids by reference."""
    now = utc_now()

    def add(connection: Connection) -> dict[str, int]:
        result = item_ops.add(connection, queue_name, list(items), max_attempts, now)
        if len(result.added) != len(items):
            raise DuplicateReferences(result)  # raised inside the transaction: it is rolled back
        query = select(work_items.c.reference, work_items.c.id).where(
            work_items.c.queue_name == queue_name, work_items.c.reference.in_(result.added))
        return {reference: item_id for reference, item_id in connection.execute(query)}

    return _database(queue).write(add)


def request_id(queue: WorkQueue, key: str) -> int | None:
    """The id of the run request with `key`, None when there is none."""
    query = select(run_requests.c.id).where(run_requests.c.key == key)
    return _database(queue).read(lambda connection: connection.execute(query).scalar())


def _database(queue: WorkQueue) -> Any:
    """The queue's database (SQLite or PostgreSQL): `write(work)` and `read(work)` run one transaction."""
    database = getattr(queue, "database", None)
    if database is None or not hasattr(database, "write"):
        raise TypeError(f"the API needs a SQL work queue, not {type(queue).__name__}")
    return database
