"""Paused schedules: who paused which schedule, when and why, kept beside the work queue.

A pause lives in the table `schedule_pauses` beside the work queue (`home/queue.db`, or the shared
PostgreSQL database), so the console, the command line and every running `serve` see the same state: the
scheduler reads it at each fire and records a paused schedule's fires as skipped ("paused by ...") instead
of queueing a run.

    pauses = open_schedule_pauses(places_for(home).queue)
    pauses.pause("demo-order-entry", "maria", note="portal maintenance until 14:00")
    pauses.get("demo-order-entry")     # Pause(..., paused_by="maria", ...)
    pauses.resume("demo-order-entry")
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (Column, Connection, Engine, MetaData, String, Table, Text, create_engine, delete, event,
                        select)
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from bastidor.database.places import is_postgres, normalized_url
from bastidor.database.schema import prepare_tables
from bastidor.store.schema import UtcDateTime
from bastidor.store.sql import configure_sqlite_connection

NOTE_MAX_CHARS = 500

metadata = MetaData()

schedule_pauses = Table(
    "schedule_pauses",
    metadata,
    Column("schedule_id", String(200), primary_key=True),
    Column("paused_by", String(255), nullable=False),
    Column("paused_at", UtcDateTime, nullable=False),
    Column("note", Text),
)


class PauseError(RuntimeError):
    """The pause store could not be read or written; the message says why and what to do."""


class AlreadyPaused(PauseError):
    """The schedule was already paused; `pause` is the pause in effect (its first one)."""

    def __init__(self, pause: "Pause"):
        self.pause = pause
        super().__init__(f"schedule '{pause.schedule_id}' is already {pause.reason} (since "
                         f"{pause.paused_at:%Y-%m-%d %H:%M} UTC); resume it first to pause it with another note")


@dataclass(frozen=True)
class Pause:
    """A schedule that is paused: its fires are recorded as skipped until someone resumes it."""

    schedule_id: str
    paused_by: str
    paused_at: dt.datetime
    note: str | None = None

    @property
    def reason(self) -> str:
        """Why a fire was skipped, as the audit log and the queue's history say it."""
        return f"paused by {self.paused_by}" + (f": {self.note}" if self.note else "")


class SchedulePauses:
    """The pause state of every schedule, in the work queue's SQLite file or PostgreSQL database; each call is
    one short transaction (on PostgreSQL retried through a lost connection, as the queue's are)."""

    def __init__(self, location: Path | str):
        if is_postgres(location):
            self.path, self._storage = None, _PostgresStorage(normalized_url(str(location)))
        else:
            self.path = Path(location).expanduser().resolve()
            self._storage = _SqliteStorage(self.path)

    def pause(self, schedule_id: str, by: str, *, note: str | None = None, now: dt.datetime | None = None) -> Pause:
        """Pause `schedule_id`; `AlreadyPaused` (holding the pause in effect) if someone paused it before."""
        pause = Pause(schedule_id, by, now or _utc_now(), clean_note(note))

        def insert(connection: Connection) -> None:
            dialect_insert = postgres_insert if connection.dialect.name == "postgresql" else sqlite_insert
            statement = (dialect_insert(schedule_pauses).values(**asdict(pause)).on_conflict_do_nothing()
                         .returning(schedule_pauses.c.schedule_id))
            if connection.execute(statement).first() is None:
                existing = _find(connection, schedule_id)
                raise AlreadyPaused(existing or pause)

        self._storage.write(insert)
        return pause

    def resume(self, schedule_id: str) -> Pause | None:
        """Resume `schedule_id`; returns the pause it ends, None when it was not paused."""
        def remove(connection: Connection) -> Pause | None:
            existing = _find(connection, schedule_id)
            connection.execute(delete(schedule_pauses).where(schedule_pauses.c.schedule_id == schedule_id))
            return existing

        return self._storage.write(remove)

    def get(self, schedule_id: str) -> Pause | None:
        """The pause of `schedule_id`, None when it runs normally."""
        return self._storage.read(lambda connection: _find(connection, schedule_id))

    def all(self) -> dict[str, Pause]:
        """Every paused schedule, by id."""
        rows = self._storage.read(lambda connection: connection.execute(select(schedule_pauses)).mappings().all())
        return {row["schedule_id"]: Pause(**row) for row in rows}

    def close(self) -> None:
        """Release connections."""
        self._storage.close()


def _find(connection: Connection, schedule_id: str) -> Pause | None:
    query = select(schedule_pauses).where(schedule_pauses.c.schedule_id == schedule_id)
    row = connection.execute(query).mappings().first()
    return None if row is None else Pause(**row)


class _SqliteStorage:
    """The pause table in a SQLite file, with an engine of its own."""

    def __init__(self, path: Path):
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = _create_engine(self.path)
        try:
            prepare_tables(self.engine, "queue")
        except SQLAlchemyError as error:
            self.engine.dispose()
            raise PauseError(_failure(self.path, error)) from error

    def write(self, work: Callable[[Connection], Any]) -> Any:
        with self._guarded(self.engine.begin) as connection:
            return work(connection)

    def read(self, work: Callable[[Connection], Any]) -> Any:
        with self._guarded(self.engine.connect) as connection:
            return work(connection)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _guarded(self, opener: Callable[[], Any]) -> Iterator[Connection]:
        """A connection (or transaction) whose database failures become a `PauseError` naming the file."""
        try:
            with opener() as connection:
                yield connection
        except SQLAlchemyError as error:
            raise PauseError(_failure(self.path, error)) from error


class _PostgresStorage:
    """The pause table in the shared PostgreSQL database, through the queue's connection handling."""

    def __init__(self, url: str):
        from bastidor.queue.postgres_database import PostgresDatabase

        self.database = self._guarded(lambda: PostgresDatabase(url))

    def write(self, work: Callable[[Connection], Any]) -> Any:
        return self._guarded(lambda: self.database.write(work))

    def read(self, work: Callable[[Connection], Any]) -> Any:
        return self._guarded(lambda: self.database.read(work))

    def close(self) -> None:
        self.database.close()

    @staticmethod
    def _guarded(call: Callable[[], Any]) -> Any:
        from bastidor.queue.base import QueueError

        try:
            return call()
        except QueueError as error:
            raise PauseError(f"The schedule pauses cannot be used: {error}") from error


def open_schedule_pauses(queue_database: Path | str) -> SchedulePauses:
    """The pause store beside the work queue: its SQLite file (e.g. `home / "queue.db"`) or its PostgreSQL URL."""
    return SchedulePauses(queue_database)


def pauses_beside(queue: Any) -> SchedulePauses | None:
    """The pause store in the same database as `queue` (its SQLite file or PostgreSQL URL), None for a queue
    kept elsewhere (e.g. in memory)."""
    location = getattr(queue, "url", None) or getattr(queue, "path", None)
    return SchedulePauses(location) if location is not None else None


def _create_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", configure_sqlite_connection)
    return engine


def clean_note(note: str | None) -> str | None:
    """A note as it is kept: on one line, at most NOTE_MAX_CHARS characters, None when empty."""
    text = " ".join((note or "").split())
    return text[:NOTE_MAX_CHARS] or None


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _failure(path: Path, error: SQLAlchemyError) -> str:
    reason = str(getattr(error, "orig", None) or error).splitlines()[0]
    return (f"The schedule pauses in {path} cannot be used: {reason}. Check that the file and its folder "
            "can be written, and that no process holds a long write lock.")
