"""Transaction-scoped advisory locks for the few queue operations that read, then insert.

On PostgreSQL (READ COMMITTED) two machines can both read "this reference is not in the queue" and both
insert it; row locks cannot guard a row that does not exist yet. These operations first take
``pg_advisory_xact_lock`` on a name (a queue, a schedule), so they run one after the other per name and each
reads what the one before it committed. The lock ends with the transaction, so a crashed process never
leaves one behind. On SQLite ``BEGIN IMMEDIATE`` already serialises every write: `serialise` does nothing.

Keys are the first 8 bytes of SHA-256 over ``bastidor.queue.<scope>:<name>``: the same in every process
and machine. A collision only makes two unrelated names wait for each other. The locks of one call are
taken in one statement in ascending key order, and no operation takes a queue lock after a schedule lock,
so two transactions never wait for each other's advisory locks in a cycle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import Connection, text

_LOCK_ALL = text("SELECT count(pg_advisory_xact_lock(key)) FROM "
                 "(SELECT unnest(CAST(:keys AS bigint[])) AS key ORDER BY 1) AS ordered")
"""One round trip for any number of keys; the sorted subquery fixes the order the locks are taken in."""


def lock_key(scope: str, name: str) -> int:
    """The signed 64-bit advisory lock key of `name` in `scope` (``queue``, ``schedule``, ``run-key``)."""
    digest = hashlib.sha256(f"bastidor.queue.{scope}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def serialise(connection: Connection, scope: str, names: Iterable[str | None]) -> None:
    """Hold, until the transaction ends, the advisory lock of each of `names` (None skipped) on PostgreSQL."""
    if connection.dialect.name != "postgresql":
        return
    keys = sorted({lock_key(scope, name) for name in names if name is not None})
    if keys:
        connection.execute(_LOCK_ALL, {"keys": keys})
