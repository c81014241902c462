"""What every machine's service and bots are doing now, for the console's Bots page.

Read from the services registry (who runs, when each last beat, who holds the scheduler) and from the
work queue's own tables: a bot's current run and item are the leases it holds, its last heartbeat is
theirs, and its runs per hour are the run requests it finished in the last hour. Nothing here writes.

    fleet = load_fleet(places_for(home).queue, now)
    for machine in fleet.machines:
        print(machine.entry.machine, machine.status, [bot.doing for bot in machine.bots])
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError

from bastidor.queue.records import RUN_FINISH_STATES
from bastidor.queue.schema import run_request_events, run_requests, work_items
from bastidor.service.registry import (
    DRAINING,
    RUNNING,
    STOPPED,
    RegistryError,
    ServiceEntry,
    open_service_registry,
)

RATE_WINDOW = dt.timedelta(hours=1)
STOPPED_SHOWN_FOR = dt.timedelta(hours=24)
"""Services that stopped cleanly stay on the page this long."""


@dataclass(frozen=True)
class Lease:
    """Work a bot holds now: a run request (its run) or a work item (its reference)."""

    label: str
    run_id: str | None
    heartbeat_at: dt.datetime | None


@dataclass(frozen=True)
class BotView:
    """One bot of a service, as the page shows it."""

    name: str
    number: int
    pid: int
    alive: bool
    run: Lease | None
    item: Lease | None
    runs_last_hour: int
    seen_at: dt.datetime
    """When its service last saw it (the service's heartbeat)."""
    silent: bool = False
    """Its service is stale, so whether it still runs is not known."""

    @property
    def state(self) -> str:
        """``working`` (it holds a lease), ``idle``, ``restarting`` (its process exited; its service starts
        another) or ``unknown`` (its service went silent)."""
        if self.run or self.item:
            return "working"
        return "unknown" if self.silent else "idle" if self.alive else "restarting"

    @property
    def heartbeat_at(self) -> dt.datetime:
        """The latest heartbeat of the leases it holds, else when its service last saw it alive."""
        beats = [lease.heartbeat_at for lease in (self.run, self.item) if lease and lease.heartbeat_at]
        return max(beats, default=self.seen_at)


@dataclass(frozen=True)
class MachineView:
    """One service (a machine, or one of several services on a machine) and its bots."""

    entry: ServiceEntry
    status: str
    """``running``, ``draining``, ``stale`` (silent for too long: likely dead) or ``stopped``."""
    heartbeat_age_s: float
    holds_scheduler: bool
    bots: list[BotView]
    runs_last_hour: int


@dataclass
class Fleet:
    """Every service the registry knows, and which one holds the scheduler."""

    now: dt.datetime
    machines: list[MachineView] = field(default_factory=list)

    @property
    def holder(self) -> MachineView | None:
        """The service holding the scheduler now, None when none does (a takeover under way)."""
        return next((machine for machine in self.machines if machine.holds_scheduler), None)

    @property
    def stale(self) -> list[MachineView]:
        """Services that stopped beating without stopping cleanly."""
        return [machine for machine in self.machines if machine.status == "stale"]


def load_fleet(location: str | Path, now: dt.datetime) -> Fleet:
    """The fleet recorded in the queue's database at `location` (a SQLite path or the shared URL)."""
    registry = open_service_registry(location)
    try:
        entries = [entry for entry in registry.all() if _shown(entry, now)]
        try:
            with registry.engine.connect() as connection:
                return build_fleet(connection, entries, now)
        except SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise RegistryError(f"The work queue in {registry.where} cannot be read: {reason}.") from error
    finally:
        registry.close()


def build_fleet(connection: Connection, entries: list[ServiceEntry], now: dt.datetime) -> Fleet:
    """Each service with its bots' leases and runs in the last hour, read on `connection`."""
    names = [bot["name"] for entry in entries for bot in entry.workers]
    counted = names + [name for entry in entries for name in entry.retired_workers]
    runs, items = _run_leases(connection, names), _item_leases(connection, names)
    finished = _finished_since(connection, counted, now - RATE_WINDOW)
    holder = scheduler_holder(entries, now)
    machines = []
    for entry in entries:
        status = _status(entry, now)
        bots = [BotView(bot["name"], bot.get("number", 0), bot.get("pid", 0), bool(bot.get("alive", True)),
                        runs.get(bot["name"]), items.get(bot["name"]), finished.get(bot["name"], 0),
                        entry.heartbeat_at, silent=status == "stale")
                for bot in entry.workers] if entry.state != STOPPED else []
        machines.append(MachineView(entry, status, (now - entry.heartbeat_at).total_seconds(),
                                    holder is not None and entry.id == holder.id, bots,
                                    sum(finished.get(name, 0) for name in _names_of(entry))))
    return Fleet(now, machines)


def scheduler_holder(entries: list[ServiceEntry], now: dt.datetime) -> ServiceEntry | None:
    """The live service that says it holds the scheduler. After a takeover the dead holder's row still says
    so until it goes stale, but the new holder wrote its row when it took over, after the dead one's last
    heartbeat: the latest heartbeat among those that say so is the holder."""
    claiming = [entry for entry in entries if entry.holds_scheduler and _status(entry, now) in (RUNNING, DRAINING)]
    return max(claiming, key=lambda entry: entry.heartbeat_at, default=None)


def _status(entry: ServiceEntry, now: dt.datetime) -> str:
    if entry.state == STOPPED:
        return STOPPED
    return "stale" if entry.is_stale(now) else entry.state


def _shown(entry: ServiceEntry, now: dt.datetime) -> bool:
    return entry.state != STOPPED or entry.stopped_at is None or now - entry.stopped_at <= STOPPED_SHOWN_FOR


def _names_of(entry: ServiceEntry) -> list[str]:
    return [bot["name"] for bot in entry.workers] + list(entry.retired_workers)


def _run_leases(connection: Connection, names: list[str]) -> dict[str, Lease]:
    """The run request each bot is running: "flow.yaml (schedule@time)" and its run id."""
    if not names:
        return {}
    query = (select(run_requests.c.lease_owner, run_requests.c.key, run_requests.c.flow_path, run_requests.c.run_id,
                    run_requests.c.heartbeat_at)
             .where(run_requests.c.state == "running", run_requests.c.lease_owner.in_(names)))
    return {row.lease_owner: Lease(f"{Path(row.flow_path).name} ({row.key})", row.run_id, row.heartbeat_at)
            for row in connection.execute(query)}


def _item_leases(connection: Connection, names: list[str]) -> dict[str, Lease]:
    """The work item each bot has in hand: its reference and queue."""
    if not names:
        return {}
    query = (select(work_items.c.lease_owner, work_items.c.reference, work_items.c.queue_name, work_items.c.run_id,
                    work_items.c.heartbeat_at)
             .where(work_items.c.state == "in_progress", work_items.c.lease_owner.in_(names)))
    return {row.lease_owner: Lease(f"{row.reference} ({row.queue_name})", row.run_id, row.heartbeat_at)
            for row in connection.execute(query)}


def _finished_since(connection: Connection, names: list[str], since: dt.datetime) -> dict[str, int]:
    """How many run requests each bot finished (done, failed, crashed or interrupted) since `since`."""
    if not names:
        return {}
    events = run_request_events.c
    query = (select(events.worker, func.count()).where(events.at >= since, events.to_state.in_(RUN_FINISH_STATES),
                                                       events.worker.in_(names))
             .group_by(events.worker))
    return {worker: count for worker, count in connection.execute(query)}
