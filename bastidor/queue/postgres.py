"""`PostgresWorkQueue`: the work queue in a PostgreSQL database shared by every machine of a deployment.

The same operations and tables as the SQLite queue (`bastidor.queue.sql_queue`); what makes them safe
with many machines at once is written down where it happens: row locks and ``SKIP LOCKED`` in
`bastidor.queue.rows`, `item_ops` and `run_ops`, advisory locks in `bastidor.queue.locks`, and riding out
a lost connection without recording anything twice in `bastidor.queue.postgres_database`.
"""

from __future__ import annotations

from bastidor.database.places import safe_url
from bastidor.queue.postgres_database import PostgresDatabase
from bastidor.queue.reconnect import Reconnect
from bastidor.queue.retry import Backoff
from bastidor.queue.sql_queue import SqlWorkQueue


class PostgresWorkQueue(SqlWorkQueue):
    """The `WorkQueue` in the PostgreSQL database at `url` (``postgresql+psycopg://...``); tables created on
    first use. A lost connection is retried for `reconnect_s` seconds ($BASTIDOR_DATABASE_RETRY_S, else 60)
    before a call raises `QueueError`."""

    def __init__(self, url: str, *, backoff: Backoff = Backoff(), reconnect_s: float | None = None) -> None:
        self.url = url
        self.backoff = backoff
        reconnect = Reconnect() if reconnect_s is None else Reconnect(budget_s=reconnect_s)
        self.database = PostgresDatabase(url, reconnect=reconnect)

    @property
    def location(self) -> str:
        """Where the queue lives, for messages: the database URL without its password."""
        return safe_url(self.url)
