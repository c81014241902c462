"""The services registry: each running `serve` says who and where it is, and beats every few seconds.

One row per service process, in the table `services` of the queue's database (the home's `queue.db`
embedded, the shared PostgreSQL database distributed), so a console on any machine sees every machine:
its name, pid, Bastidor version, home folder, when it started, its last heartbeat, whether it holds the
scheduler, and its bots (name, pid, alive). What each bot is doing is not written here: it is read from
the queue's leases (see `bastidor.service.fleet`), so bots add no writes of their own.

    registry = open_service_registry(places_for(home).queue)
    me = registry.register(home, heartbeat_s=10)
    registry.beat(me, holds_scheduler=True, workers=pool.describe(), retired_workers=pool.retired)
    registry.stopped(me)                                      # on a clean stop
"""

from __future__ import annotations

import contextlib

import datetime as dt
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from bastidor import __version__
from bastidor.queue.base import QueueError
from bastidor.store.schema import UtcDateTime
from bastidor.database.schema import prepare_tables

HEARTBEAT_S = 10.0
"""How often a service writes its heartbeat (and at once whenever its scheduler or its bots change)."""
STALE_AFTER_BEATS = 3
"""A service whose heartbeat is older than this many of its intervals is shown as stale (likely dead)."""
KEEP_DAYS = 7
"""Rows of services that stopped (or went silent) longer ago than this are deleted when a service starts."""

metadata = MetaData()

services = Table(
    "services",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("machine", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("version", String(50), nullable=False),
    Column("home", Text, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
    Column("heartbeat_s", Float, nullable=False),
    Column("state", String(20), nullable=False),
    Column("holds_scheduler", Boolean, nullable=False),
    Column("workers", JSON, nullable=False),
    Column("retired_workers", JSON, nullable=False),
    Column("fault", Text),
    Column("stopped_at", UtcDateTime),
)

RUNNING, DRAINING, STOPPED = "running", "draining", "stopped"


class RegistryError(QueueError):
    """The services registry (in the queue's database) cannot be read or written; the message says why."""


@dataclass(frozen=True)
class ServiceEntry:
    """One service as it last described itself."""

    id: str
    machine: str
    pid: int
    version: str
    home: str
    started_at: dt.datetime
    heartbeat_at: dt.datetime
    heartbeat_s: float
    state: str
    holds_scheduler: bool
    workers: list[dict[str, Any]] = field(default_factory=list)
    """Its bots: name (the id they claim work under), number, pid, alive."""
    retired_workers: list[str] = field(default_factory=list)
    """Names of its bots that exited (restarted or drained), newest last, for runs per hour."""
    fault: str | None = None
    stopped_at: dt.datetime | None = None

    def is_stale(self, now: dt.datetime) -> bool:
        """Not stopped, yet silent for more than `STALE_AFTER_BEATS` heartbeat intervals: likely dead."""
        return self.state != STOPPED and (now - self.heartbeat_at).total_seconds() > self.stale_after_s

    @property
    def stale_after_s(self) -> float:
        """Seconds of silence after which this service counts as stale."""
        return STALE_AFTER_BEATS * self.heartbeat_s


def service_id(machine: str, pid: int, started_at: dt.datetime) -> str:
    """A service's id: its machine, pid and start time (pids are reused, start times are not)."""
    return f"{machine}:{pid}:{started_at:%Y%m%dT%H%M%S.%f}"


class ServiceRegistry:
    """The `services` table; each call is one short transaction."""

    def __init__(self, engine: Engine, where: str, *, owns_engine: bool):
        self.engine = engine
        self.where = where
        self._owns_engine = owns_engine
        self._create_table()

    def register(self, home: Path | str, *, heartbeat_s: float = HEARTBEAT_S, now: dt.datetime | None = None,
                 machine: str | None = None, pid: int | None = None) -> ServiceEntry:
        """Record this service as running (and forget services gone for more than `KEEP_DAYS` days)."""
        now = now or utc_now()
        machine, pid = machine or socket.gethostname(), pid or os.getpid()
        entry = ServiceEntry(service_id(machine, pid, now), machine, pid, __version__, str(Path(home).resolve()),
                             now, now, heartbeat_s, RUNNING, False)
        with self._guarded(self.engine.begin) as connection:
            connection.execute(delete(services).where(services.c.heartbeat_at < now - dt.timedelta(days=KEEP_DAYS)))
            connection.execute(insert(services).values(**_row(entry)))
        return entry

    def beat(self, entry: ServiceEntry, *, holds_scheduler: bool, workers: list[dict[str, Any]],
             retired_workers: list[str], state: str = RUNNING, fault: str | None = None,
             now: dt.datetime | None = None) -> None:
        """Record a heartbeat with the service's state, scheduler role and bots now."""
        values = {"heartbeat_at": now or utc_now(), "state": state, "holds_scheduler": holds_scheduler,
                  "workers": workers, "retired_workers": retired_workers, "fault": fault}
        with self._guarded(self.engine.begin) as connection:
            changed = connection.execute(update(services).where(services.c.id == entry.id).values(**values))
            if changed.rowcount == 0:  # its row was deleted (a database restored from an older backup)
                connection.execute(insert(services).values(**{**_row(entry), **values}))

    def stopped(self, entry: ServiceEntry, *, now: dt.datetime | None = None) -> None:
        """Record a clean stop: the service holds no scheduler and runs no bots any more."""
        now = now or utc_now()
        values = {"heartbeat_at": now, "stopped_at": now, "state": STOPPED, "holds_scheduler": False, "fault": None}
        with self._guarded(self.engine.begin) as connection:
            connection.execute(update(services).where(services.c.id == entry.id).values(**values))

    def all(self) -> list[ServiceEntry]:
        """Every service recorded, running ones first, then by machine and start time."""
        with self._guarded(self.engine.connect) as connection:
            rows = connection.execute(select(services)).mappings().all()
        entries = [ServiceEntry(**row) for row in rows]
        return sorted(entries, key=lambda e: (e.state == STOPPED, e.machine, e.started_at))

    def _create_table(self) -> None:
        """Bring the queue's tables, `services` among them, to this Bastidor's schema version."""
        with self._guarded(contextlib.nullcontext):
            prepare_tables(self.engine, "queue")

    def close(self) -> None:
        """Release this registry's connections (the shared PostgreSQL engine stays open for the others)."""
        if self._owns_engine:
            self.engine.dispose()

    @contextmanager
    def _guarded(self, opener: Callable[[], Any]) -> Iterator[Connection]:
        try:
            with opener() as connection:
                yield connection
        except SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise RegistryError(f"The services registry in {self.where} cannot be used: {reason}. The service "
                                "keeps running and tries again; check that the database can be reached.") from error


def open_service_registry(location: str | Path) -> ServiceRegistry:
    """The registry in the queue's database: a SQLite file path (home/queue.db) or the shared PostgreSQL URL."""
    from bastidor.database.places import is_postgres, safe_url

    if is_postgres(location):
        from bastidor.database.engines import postgres_engine

        return ServiceRegistry(postgres_engine(str(location)), safe_url(str(location)), owns_engine=False)
    path = Path(location).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return ServiceRegistry(_sqlite_engine(path), str(path), owns_engine=True)


def _sqlite_engine(path: Path) -> Engine:
    from bastidor.store.sql import configure_sqlite_connection

    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", configure_sqlite_connection)
    return engine


def _row(entry: ServiceEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in services.c.keys()}


def utc_now() -> dt.datetime:
    """The current time in UTC."""
    return dt.datetime.now(dt.timezone.utc)
