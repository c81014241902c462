"""`SqliteWorkQueue`: the embedded work queue in one SQLite file, safe across processes on one machine.

Every change is one short ``BEGIN IMMEDIATE`` transaction, so a claim's "find the best row" and "lease
it" happen under SQLite's write lock and two processes can never claim the same row. Claims reap
expired leases first, so a killed worker's row comes back without a separate reaper process.
The operations themselves are shared with PostgreSQL (`bastidor.queue.sql_queue`).
"""

from __future__ import annotations

from pathlib import Path

from bastidor.queue import checks
from bastidor.queue.engine import SqliteDatabase
from bastidor.queue.retry import Backoff
from bastidor.queue.sql_queue import SqlWorkQueue


class SqliteWorkQueue(SqlWorkQueue):
    """The `WorkQueue` in a SQLite file (created with its folder if missing). Open one per process."""

    def __init__(self, path: str | Path, *, backoff: Backoff = Backoff(), synchronous: str = "FULL") -> None:
        self.path = Path(path).expanduser().resolve()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.backoff = backoff
        self.database = SqliteDatabase(self.path, synchronous=checks.one_of(
            "synchronous", synchronous.upper(), ("FULL", "NORMAL")))

    @property
    def location(self) -> str:
        """Where the queue lives, for messages: its file."""
        return str(self.path)
