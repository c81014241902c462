"""Leased rows, shared by work items and run requests: fetch, lease checks, state moves with history.

Each function runs inside the caller's open transaction, so a check and the change it guards can never be
separated by another process: on SQLite the transaction holds the write lock (``BEGIN IMMEDIATE``); on
PostgreSQL a row read before it is changed is locked (``FOR UPDATE``), so its owner and a reaper never both
move it, and the rows a reaper hands back are locked with ``SKIP LOCKED``, so two services reaping at once
take disjoint rows and a row is never handed back twice (SQLite ignores these clauses). Statements are
built once with bound parameters; an UPDATE's SET columns are the column names in the parameters it is given.

An outcome repeated by the same worker with the same ``now`` (after a lost connection left the first one
in doubt) is recognised from the row's last history event and returns the row as it is, changing nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, Table, bindparam, insert, select, text, update

from bastidor.queue.base import LeaseLost, NotFound
from bastidor.queue.records import ItemEvent, RunEvent, RunRequest, WorkItem
from bastidor.queue.schema import run_request_events, run_requests, work_item_events, work_items

LEASE_CLEARED: dict[str, Any] = {"lease_owner": None, "lease_expires": None}
RELEASED_NOTE = "released by its worker (shutting down); the attempt is not counted"


@dataclass
class RowKind:
    """Everything that differs between work items and run requests, with their prepared statements."""

    noun: str
    table: Table
    events: Table
    event_key: str
    leased_state: str
    record: type
    event: type
    statements: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.statements = _prepare(self)

    def describe(self, row: Mapping[str, Any]) -> str:
        """How a message names the row, e.g. ``work item 12 (orders/A-1)``."""
        if self.table is work_items:
            return f"{self.noun} {row['id']} ({row['queue_name']}/{row['reference']})"
        return f"{self.noun} {row['id']} ({row['key']})"


def _prepare(kind: RowKind) -> dict[str, Any]:
    table, events = kind.table, kind.events
    row_id = table.c.id == bindparam("b_id")
    leased = table.c.state == kind.leased_state
    return {
        "by_id": select(table).where(row_id),
        "lock_by_id": select(table).where(row_id).with_for_update(),
        "set_by_id": update(table).where(row_id).returning(*table.c),
        "claim": update(table).where(row_id, table.c.state == bindparam("b_from"))
                              .values(attempts=table.c.attempts + 1).returning(*table.c),
        "heartbeat": update(table).where(row_id, leased, table.c.lease_owner == bindparam("b_worker")),
        "expired": select(table).where(leased, table.c.lease_expires < bindparam("b_now")).order_by(table.c.id)
                                .with_for_update(skip_locked=True),
        "owned_by": select(table).where(leased, table.c.lease_owner.in_(bindparam("b_workers", expanding=True)))
                                 .order_by(table.c.id).with_for_update(skip_locked=True),
        "add_event": insert(events),
        "history": select(events).where(events.c[kind.event_key] == bindparam("b_id")).order_by(events.c.id),
        "last_event": select(events).where(events.c[kind.event_key] == bindparam("b_id"))
                                    .order_by(events.c.id.desc()).limit(1),
    }


ITEM = RowKind("work item", work_items, work_item_events, "item_id", "in_progress", WorkItem, ItemEvent)
RUN = RowKind("run request", run_requests, run_request_events, "request_id", "running", RunRequest, RunEvent)


def fetch(connection: Connection, kind: RowKind, row_id: int) -> RowMapping | None:
    """The row with this id, None if there is none."""
    return connection.execute(kind.statements["by_id"], {"b_id": row_id}).mappings().first()


def locked(connection: Connection, kind: RowKind, row_id: int) -> RowMapping | None:
    """The row with this id, locked until the transaction ends (PostgreSQL); None if there is none."""
    return connection.execute(kind.statements["lock_by_id"], {"b_id": row_id}).mappings().first()


def leased(connection: Connection, kind: RowKind, row_id: int, worker: str) -> RowMapping:
    """The row, locked, if `worker` holds its lease; `NotFound` or `LeaseLost` otherwise."""
    row = _existing(connection, kind, row_id)
    if row["state"] != kind.leased_state or row["lease_owner"] != worker:
        raise LeaseLost(_lease_lost_message(kind, row, worker))
    return row


def leased_or_repeated(connection: Connection, kind: RowKind, row_id: int, worker: str, now: datetime,
                       outcomes: tuple[str, ...]) -> tuple[RowMapping, bool]:
    """The locked row and False if `worker` holds its lease; the row and True if `worker` already moved it to
    one of `outcomes` at this very `now` (a repeat of the same call); `NotFound` or `LeaseLost` otherwise."""
    row = _existing(connection, kind, row_id)
    if row["state"] == kind.leased_state and row["lease_owner"] == worker:
        return row, False
    if row["state"] in outcomes and repeated(connection, kind, row, kind.leased_state, worker, now):
        return row, True
    raise LeaseLost(_lease_lost_message(kind, row, worker))


def repeated(connection: Connection, kind: RowKind, row: Mapping[str, Any], from_state: str, worker: str | None,
             now: datetime) -> bool:
    """Whether the row's last change was `worker` moving it from `from_state` to its present state at `now`."""
    last = connection.execute(kind.statements["last_event"], {"b_id": row["id"]}).mappings().first()
    return last is not None and (last["from_state"], last["to_state"], last["worker"], last["at"]) == (
        from_state, row["state"], worker, now)


def _existing(connection: Connection, kind: RowKind, row_id: int) -> RowMapping:
    row = locked(connection, kind, row_id)
    if row is None:
        raise NotFound(f"No {kind.noun} has the id {row_id}; check the id you were given when it was claimed.")
    return row


def move(connection: Connection, kind: RowKind, row: Mapping[str, Any], to_state: str, now: datetime, *,
         worker: str | None, note: str | None, values: dict[str, Any]) -> Any:
    """Set the row's state and `values`, record the change in its history, and return the new record."""
    params = {"b_id": row["id"], "state": to_state, **values}
    changed = connection.execute(kind.statements["set_by_id"], params).mappings().one()
    record_event(connection, kind, row["id"], now, row["state"], to_state, row["attempts"], worker, note)
    return kind.record(**changed)


def record_event(connection: Connection, kind: RowKind, row_id: int, now: datetime, from_state: str | None,
                 to_state: str, attempt: int, worker: str | None, note: str | None) -> None:
    """Append one state change to the row's history."""
    connection.execute(kind.statements["add_event"], {
        kind.event_key: row_id, "at": now, "from_state": from_state, "to_state": to_state, "attempt": attempt,
        "worker": worker, "reason": note})


def claim(connection: Connection, kind: RowKind, row_id: int, from_state: str, worker: str, lease_s: float,
          now: datetime, extra: dict[str, Any]) -> Any:
    """Lease a row in `from_state` to `worker`, counting a new attempt, and record it."""
    params = {"b_id": row_id, "b_from": from_state, "state": kind.leased_state, "lease_owner": worker,
              "lease_expires": now + timedelta(seconds=lease_s), "heartbeat_at": now, **extra}
    claimed = connection.execute(kind.statements["claim"], params).mappings().one()
    record_event(connection, kind, row_id, now, from_state, kind.leased_state, claimed["attempts"], worker, None)
    return kind.record(**claimed)


def heartbeat(connection: Connection, kind: RowKind, row_id: int, worker: str, lease_s: float,
              now: datetime) -> bool:
    """Extend `worker`'s lease to now + `lease_s`; False if it does not hold the lease."""
    params = {"b_id": row_id, "b_worker": worker, "lease_expires": now + timedelta(seconds=lease_s),
              "heartbeat_at": now}
    return connection.execute(kind.statements["heartbeat"], params).rowcount == 1


REAP_GRACE_AFTER_RESTART_S = 60.0
"""After a PostgreSQL restart, a lease last renewed before it is not handed back for this long: its bot could
not write heartbeats while the server was down and is most likely still working; a bot that really died is
reaped once the grace is over."""


def expired_leases(connection: Connection, kind: RowKind, now: datetime) -> list[RowMapping]:
    """Leased rows whose lease expired before `now`, except those whose bot had no chance to renew them since
    PostgreSQL restarted (see `REAP_GRACE_AFTER_RESTART_S`)."""
    rows = list(connection.execute(kind.statements["expired"], {"b_now": now}).mappings())
    if not rows or connection.dialect.name != "postgresql":
        return rows
    started, uptime_s = connection.execute(text(
        "SELECT pg_postmaster_start_time(), EXTRACT(EPOCH FROM now() - pg_postmaster_start_time())")).one()
    if float(uptime_s) >= REAP_GRACE_AFTER_RESTART_S:
        return rows
    return [row for row in rows if row["heartbeat_at"] is not None and row["heartbeat_at"] >= started]


def leases_of(connection: Connection, kind: RowKind, workers: list[str]) -> list[RowMapping]:
    """Rows leased by any of `workers`, expired or not."""
    return list(connection.execute(kind.statements["owned_by"], {"b_workers": workers}).mappings())


def abandon(connection: Connection, kind: RowKind, row: Mapping[str, Any], now: datetime,
            why: str | None = None) -> dict[str, Any]:
    """Record the row as ``abandoned`` (its lease expired, or `why`); return it as it now stands in history."""
    heartbeat_at = row["heartbeat_at"].isoformat() if row["heartbeat_at"] else "never"
    note = f"{why or 'lease expired at ' + row['lease_expires'].isoformat()} (last heartbeat {heartbeat_at})"
    record_event(connection, kind, row["id"], now, row["state"], "abandoned", row["attempts"], row["lease_owner"],
                 note)
    return {**row, "state": "abandoned"}


def history(connection: Connection, kind: RowKind, row_id: int) -> list[Any]:
    """Every state change of the row, oldest first."""
    found = connection.execute(kind.statements["history"], {"b_id": row_id}).mappings()
    return [kind.event(**{key: value for key, value in row.items() if key != "id"}) for row in found]


def _lease_lost_message(kind: RowKind, row: Mapping[str, Any], worker: str) -> str:
    holder = f", leased by {row['lease_owner']}" if row["state"] == kind.leased_state else ""
    return (f"Worker {worker} no longer holds the lease on {kind.describe(row)}: it is {row['state']}{holder}. "
            "Most likely its lease expired before a heartbeat renewed it and the row was handed back, so this "
            "worker must not record an outcome for it. Heartbeat more often than the lease length.")
