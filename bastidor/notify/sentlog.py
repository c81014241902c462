"""The sent-log: which (event key, channel) pairs were already notified, so nothing is sent twice.

A small table in the home folder's `notifications.db`, or in the shared PostgreSQL database when one is
set (`places_for(home).notifications`), so bots on every machine share it. Claiming a key is one INSERT
on its primary key, so two bots that see the same event at once cannot both send it. A claim whose
COMMIT went unanswered (a lost connection) is tried again and recognised as its own by its claim time.
A delivery that fails gives its claim back, so a later occurrence of the same event is tried again.
Entries older than `KEEP_DAYS` are dropped when the log opens.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, delete, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from bastidor.database.places import is_postgres, places_for
from bastidor.database.schema import prepare_tables
from bastidor.store.reconnect import Reconnect, ReconnectPolicy

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

    def __init__(self, home: Path | None = None, *, reconnect: ReconnectPolicy | None = None):
        self._memory: set[str] = set()
        self._engine = None
        self._reconnect = Reconnect(reconnect or ReconnectPolicy.from_environment(), enabled=False)
        if home is not None:
            self._engine = _open(Path(home))
            self._reconnect.enabled = self._engine.dialect.name == "postgresql"
            self._reconnect.run(lambda attempt: _create_table(self._engine))
            self._forget_old()

    def claim(self, key: str, channel: str, event: str) -> bool:
        """True when this pair was not notified before (and now counts as notified); False for a repeat."""
        full_key = f"{channel}|{key}"
        if self._engine is None:
            fresh = full_key not in self._memory
            self._memory.add(full_key)
            return fresh
        row = {"key": full_key, "channel": channel, "event": event, "sent_at": dt.datetime.now(dt.timezone.utc)}
        return self._reconnect.run(lambda attempt: self._insert(row, attempt.uncertain))

    def release(self, key: str, channel: str) -> None:
        """Give a claim back after a failed delivery, so the event can be notified again later."""
        full_key = f"{channel}|{key}"
        self._memory.discard(full_key)
        if self._engine is not None:
            self._reconnect.run(lambda attempt: self._delete(sent_notifications.c.key == full_key))

    def close(self) -> None:
        """Release the database file (a shared PostgreSQL engine stays open for the process's other stores)."""
        if self._engine is not None and self._engine.dialect.name == "sqlite":
            self._engine.dispose()

    def _insert(self, row: dict, uncertain: bool) -> bool:
        """Claim `row`'s key; after a lost COMMIT (`uncertain`) a stored claim with our claim time is ours."""
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(sent_notifications).values(**row))
        except IntegrityError:
            return uncertain and self._claimed_at(row["key"]) == row["sent_at"]
        return True

    def _claimed_at(self, full_key: str) -> dt.datetime | None:
        query = select(sent_notifications.c.sent_at).where(sent_notifications.c.key == full_key)
        with self._engine.connect() as connection:
            claimed = connection.execute(query).scalar()
        return claimed.replace(tzinfo=dt.timezone.utc) if claimed and claimed.tzinfo is None else claimed

    def _delete(self, condition) -> None:
        with self._engine.begin() as connection:
            connection.execute(delete(sent_notifications).where(condition))

    def _forget_old(self) -> None:
        cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=KEEP_DAYS)
        self._reconnect.run(lambda attempt: self._delete(sent_notifications.c.sent_at < cutoff))


def _open(home: Path):
    """The engine of `home`'s sent-log: the shared PostgreSQL database's, or home/notifications.db."""
    location = places_for(home).notifications
    if is_postgres(location):
        from bastidor.database.engines import postgres_engine

        return postgres_engine(str(location))
    home.mkdir(parents=True, exist_ok=True)
    return create_engine(f"sqlite:///{location}", poolclass=NullPool, connect_args={"timeout": BUSY_TIMEOUT_S})


def _create_table(engine) -> None:
    """Create the table when missing; another bot creating it at the same moment is not a problem."""
    try:
        prepare_tables(engine, "notifications")
    except SQLAlchemyError as error:
        if "already exists" not in str(error):
            raise
