"""The sent-log: which (event key, channel) pairs were already notified, so nothing is sent twice.

A small SQLite table in the home folder (`notifications.db`). Claiming a key is one INSERT on its
primary key, so two bots that see the same event at once cannot both send it. A delivery that fails
gives its claim back, so a later occurrence of the same event is tried again. Entries older than
`KEEP_DAYS` are dropped when the log opens.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, delete, insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import NullPool
from bastidor.database.schema import prepare_tables

SENT_LOG_FILE = "notifications.db"
KEEP_DAYS = 90
BUSY_TIMEOUT_S = 30

metadata = MetaData()
sent_notifications = Table(
    "sent_notifications", metadata,
    Column("key", String, primary_key=True),
    Column("channel", String, nullable=False),
    Column("event", String, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
)


class SentLog:
    """Claims (event key, channel) pairs; in memory when no home folder is given."""

    def __init__(self, home: Path | None = None):
        self._memory: set[str] = set()
        self._engine = None
        if home is not None:
            home.mkdir(parents=True, exist_ok=True)
            self._engine = create_engine(f"sqlite:///{home / SENT_LOG_FILE}", poolclass=NullPool,
                                         connect_args={"timeout": BUSY_TIMEOUT_S})
            _create_table(self._engine)
            self._forget_old()

    def claim(self, key: str, channel: str, event: str) -> bool:
        """True when this pair was not notified before (and now counts as notified); False for a repeat."""
        full_key = f"{channel}|{key}"
        if self._engine is None:
            fresh = full_key not in self._memory
            self._memory.add(full_key)
            return fresh
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(sent_notifications).values(
                    key=full_key, channel=channel, event=event, sent_at=dt.datetime.now(dt.timezone.utc)))
        except IntegrityError:
            return False
        return True

    def release(self, key: str, channel: str) -> None:
        """Give a claim back after a failed delivery, so the event can be notified again later."""
        full_key = f"{channel}|{key}"
        self._memory.discard(full_key)
        if self._engine is not None:
            with self._engine.begin() as connection:
                connection.execute(delete(sent_notifications).where(sent_notifications.c.key == full_key))

    def close(self) -> None:
        """Release the database file."""
        if self._engine is not None:
            self._engine.dispose()

    def _forget_old(self) -> None:
        cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=KEEP_DAYS)
        with self._engine.begin() as connection:
            connection.execute(delete(sent_notifications).where(sent_notifications.c.sent_at < cutoff))


def _create_table(engine) -> None:
    """Create the table when missing; another bot creating it at the same moment is not a problem."""
    try:
        prepare_tables(engine, "notifications")
    except OperationalError as error:
        if "already exists" not in str(error):
            raise
