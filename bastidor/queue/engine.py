"""The SQLite connection behind `SqliteWorkQueue`: WAL mode, a busy timeout, and short transactions.

Every write runs in ``BEGIN IMMEDIATE``: it takes SQLite's write lock before reading anything, so two
processes can never both see a row as claimable, and a busy writer waits (up to the busy timeout)
instead of failing. Reads run in a plain deferred transaction and never block the writer (WAL).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bastidor.database.engines import dumps_json
from bastidor.queue.base import QueueError
from bastidor.database.schema import prepare_tables
from bastidor.store.sql import enable_wal

T = TypeVar("T")
BUSY_TIMEOUT_MS = 30_000
_BEGIN_OPTION = "bastidor_queue_begin"


class SqliteDatabase:
    """One SQLite file opened for the queue; creates the tables on first use (safely, across processes)."""

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        self.engine = _create_engine(path, synchronous)
        self._pid = os.getpid()
        try:
            with self.writing() as connection:
                prepare_tables(connection, "queue")
        except QueueError:
            self.engine.dispose()
            raise

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one ``BEGIN IMMEDIATE`` transaction and commit it."""
        with self.writing() as connection:
            return work(connection)

    def read(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one read transaction."""
        with self.reading() as connection:
            return work(connection)

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A transaction that holds the write lock from its first statement (``BEGIN IMMEDIATE``)."""
        with self._transaction("IMMEDIATE") as connection:
            yield connection

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only snapshot (``BEGIN``); never blocks writers."""
        with self._transaction("DEFERRED") as connection:
            yield connection

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def _transaction(self, mode: str) -> Iterator[Connection]:
        self._forget_parent_connections()
        try:
            with self.engine.connect() as connection:
                connection.execution_options(**{_BEGIN_OPTION: mode})
                with connection.begin():
                    yield connection
        except OperationalError as error:
            self.engine.dispose()  # a connection opened while the file was read-only stays read-only: open anew
            raise QueueError(_operational_message(self.path, error)) from error
        except SQLAlchemyError as error:
            raise QueueError(f"The work queue at {self.path} failed: {_reason(error)}.") from error

    def _forget_parent_connections(self) -> None:
        """After a fork, leave the parent's pooled connections alone: SQLite connections must not cross."""
        if self._pid != os.getpid():
            self.engine.dispose(close=False)
            self._pid = os.getpid()


def _create_engine(path: Path, synchronous: str) -> Engine:
    engine = create_engine(f"sqlite:///{path}", json_serializer=dumps_json)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, connection_record: Any) -> None:
        connection_record.info["pid"] = os.getpid()
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        enable_wal(cursor, BUSY_TIMEOUT_MS / 1000)
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _operational_message(path: Path, error: OperationalError) -> str:
    reason = _reason(error)
    if "locked" in reason or "busy" in reason:
        return (f"The work queue at {path} is locked by another process ({reason}; waited up to "
                f"{BUSY_TIMEOUT_MS // 1000} s). A process may be stuck in a long write: check for one, then retry.")
    if "full" in reason:
        return f"The work queue at {path} cannot be written: {reason}. Free disk space; the bots wait until then."
    return f"The work queue at {path} cannot be used: {reason}. Check the file and its folder's permissions."


def _reason(error: SQLAlchemyError) -> str:
    original = getattr(error, "orig", None)
    return str(original or error).splitlines()[0]
