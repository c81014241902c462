"""Paused schedules: who paused which schedule, when and why, kept beside the work queue.

A pause lives in the table `schedule_pauses` of the queue's database file (`home/queue.db`), so the
console, the command line and a running `serve` all see the same state: the scheduler reads it at each
fire and records a paused schedule's fires as skipped ("paused by ...") instead of queueing a run.

    pauses = open_schedule_pauses(home / "queue.db")
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
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from bastidor.store.schema import UtcDateTime
from bastidor.store.sql import configure_sqlite_connection
from bastidor.database.schema import prepare_tables

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
    """The pause state of every schedule, in one SQLite file; each call is one short transaction."""

    def __init__(self, path: Path | str):
        self.path = Path(path).expanduser().resolve()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = _create_engine(self.path)
        try:
            prepare_tables(self.engine, "queue")
        except SQLAlchemyError as error:
            self.engine.dispose()
            raise PauseError(_failure(self.path, error)) from error

    def pause(self, schedule_id: str, by: str, *, note: str | None = None, now: dt.datetime | None = None) -> Pause:
        """Pause `schedule_id`; `AlreadyPaused` (holding the pause in effect) if someone paused it before."""
        pause = Pause(schedule_id, by, now or _utc_now(), clean_note(note))
        statement = sqlite_insert(schedule_pauses).values(**asdict(pause)).on_conflict_do_nothing()
        with self._guarded(self.engine.begin) as connection:
            if connection.execute(statement).rowcount == 0:
                existing = self._find(connection, schedule_id)
                raise AlreadyPaused(existing or pause)
        return pause

    def resume(self, schedule_id: str) -> Pause | None:
        """Resume `schedule_id`; returns the pause it ends, None when it was not paused."""
        with self._guarded(self.engine.begin) as connection:
            existing = self._find(connection, schedule_id)
            connection.execute(delete(schedule_pauses).where(schedule_pauses.c.schedule_id == schedule_id))
        return existing

    def get(self, schedule_id: str) -> Pause | None:
        """The pause of `schedule_id`, None when it runs normally."""
        with self._guarded(self.engine.connect) as connection:
            return self._find(connection, schedule_id)

    def all(self) -> dict[str, Pause]:
        """Every paused schedule, by id."""
        with self._guarded(self.engine.connect) as connection:
            rows = connection.execute(select(schedule_pauses)).mappings().all()
        return {row["schedule_id"]: Pause(**row) for row in rows}

    def close(self) -> None:
        """Release connections."""
        self.engine.dispose()

    @staticmethod
    def _find(connection: Connection, schedule_id: str) -> Pause | None:
        query = select(schedule_pauses).where(schedule_pauses.c.schedule_id == schedule_id)
        row = connection.execute(query).mappings().first()
        return None if row is None else Pause(**row)

    @contextmanager
    def _guarded(self, opener: Callable[[], Any]) -> Iterator[Connection]:
        """A connection (or transaction) whose database failures become a `PauseError` naming the file."""
        try:
            with opener() as connection:
                yield connection
        except SQLAlchemyError as error:
            raise PauseError(_failure(self.path, error)) from error


def open_schedule_pauses(queue_database: Path | str) -> SchedulePauses:
    """The pause store in the work queue's database file (e.g. `home / "queue.db"`)."""
    return SchedulePauses(queue_database)


def pauses_beside(queue: Any) -> SchedulePauses | None:
    """The pause store in the same file as `queue` (a SQLite work queue), None for a queue without a file."""
    path = getattr(queue, "path", None)
    return SchedulePauses(path) if path is not None else None


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
