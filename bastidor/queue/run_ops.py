"""Run request operations, each inside the caller's open transaction (SQLAlchemy Core), shared by the
SQLite and PostgreSQL backends.

Why each is safe when several machines call it at once on PostgreSQL (READ COMMITTED):
- `claim` picks its row with ``FOR UPDATE SKIP LOCKED``, so no request is leased twice.
- `finish`, `release`, `attach` and `bind_queue` lock the row before reading it, so the owner and a reaper
  never both move it; `reap` and `abandon_leases` lock theirs with ``SKIP LOCKED``.
- `enqueue_request` reads whether the key is taken, then inserts: under the advisory lock of its schedule
  (or of the key, for a request of no schedule), the same lock `fires.record` takes, so the second of two
  callers sees the first one's row. The unique key stays the last line of defence.
- The resume request a finished or reaped request may leave (`bastidor.queue.resume`) is decided under
  the advisory lock of its work-item queue: reaping takes those locks for all its rows first, in one
  sorted statement, so two reapers never wait on each other's locks in a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, func, insert, or_, select

from bastidor.queue import rows
from bastidor.queue.locks import serialise
from bastidor.queue.records import ReapResult, RunEvent, RunRequest
from bastidor.queue.resume import resume_if_work_is_left
from bastidor.queue.rows import LEASE_CLEARED, RELEASED_NOTE, RUN
from bastidor.queue.schema import run_requests

_BY_KEY = select(run_requests.c.id).where(run_requests.c.key == bindparam("b_key"))
_INSERT = insert(run_requests).returning(run_requests.c.id)
_NEXT = (select(run_requests.c.id)
         .where(run_requests.c.state == "queued",
                or_(run_requests.c.not_before.is_(None), run_requests.c.not_before <= bindparam("b_now")))
         .order_by(run_requests.c.priority.desc(), run_requests.c.enqueued_at, run_requests.c.id).limit(1)
         .with_for_update(skip_locked=True))
_COUNT = select(func.count()).select_from(run_requests).where(
    run_requests.c.schedule_id == bindparam("b_schedule"),
    run_requests.c.state.in_(bindparam("b_states", expanding=True)))
_LAST_FIRE = select(func.max(run_requests.c.fire_time)).where(run_requests.c.schedule_id == bindparam("b_schedule"))


def enqueue_request(connection: Connection, values: dict[str, Any], reason: str | None, now: datetime) -> int | None:
    """`enqueue`, for a caller outside the queue: serialised with every other writer of its schedule's (or
    key's) requests, so that two machines enqueueing one key at once give one request."""
    schedule_id = values.get("schedule_id")
    serialise(connection, *(("schedule", [schedule_id]) if schedule_id else ("run-key", [values["key"]])))
    return enqueue(connection, values, reason, now)


def enqueue(connection: Connection, values: dict[str, Any], reason: str | None, now: datetime) -> int | None:
    """Insert the request unless its key exists and record its first state; its id, or None for an existing key."""
    if connection.execute(_BY_KEY, {"b_key": values["key"]}).first() is not None:
        return None
    row = {**values, "attempts": 0, "enqueued_at": now, "error": reason}
    request_id = connection.execute(_INSERT, row).scalar_one()
    rows.record_event(connection, RUN, request_id, now, None, values["state"], 0, None, reason)
    return request_id


def claim(connection: Connection, worker: str, lease_s: float, now: datetime) -> RunRequest | None:
    """Lease the best queued request to `worker`, None if there is none. Expired run leases are not reaped
    here but by the service (`reap_expired`), which also ends the dead worker's run in the run store."""
    request_id = connection.execute(_NEXT, {"b_now": now}).scalar()
    if request_id is None:
        return None
    return rows.claim(connection, RUN, request_id, "queued", worker, lease_s, now,
                      {"started_at": now, "run_id": None})  # an earlier attempt's run is not this one's


def finish(connection: Connection, request_id: int, worker: str, state: str, run_id: str | None,
           error: str | None, now: datetime) -> RunRequest:
    """End the leased request as done, failed, crashed or interrupted; resume what its run left undone."""
    row, repeated = rows.leased_or_repeated(connection, RUN, request_id, worker, now, (state,))
    if repeated:
        return RunRequest(**row)
    values = {"finished_at": now, "error": error, **LEASE_CLEARED}
    if run_id is not None:
        values["run_id"] = run_id
    request = rows.move(connection, RUN, row, state, now, worker=worker, note=error, values=values)
    resume_if_work_is_left(connection, request, now)
    return request


def bind_queue(connection: Connection, request_id: int, worker: str, queue_name: str) -> RunRequest:
    """Note the work-item queue the leased request's run takes items from, so the queue can resume them."""
    rows.leased(connection, RUN, request_id, worker)
    changed = connection.execute(RUN.statements["set_by_id"], {"b_id": request_id, "queue_name": queue_name})
    return RunRequest(**changed.mappings().one())


def attach(connection: Connection, request_id: int, worker: str, run_id: str) -> RunRequest:
    """Note the id of the run that `worker` started for the leased request, so a crash can be traced to it."""
    rows.leased(connection, RUN, request_id, worker)
    changed = connection.execute(RUN.statements["set_by_id"], {"b_id": request_id, "run_id": run_id})
    return RunRequest(**changed.mappings().one())


def release(connection: Connection, request_id: int, worker: str, now: datetime) -> RunRequest:
    """Hand the leased request back to the queue without counting the attempt."""
    row, repeated = rows.leased_or_repeated(connection, RUN, request_id, worker, now, ("queued",))
    if repeated:
        return RunRequest(**row)
    values = {"attempts": row["attempts"] - 1, "started_at": None, **LEASE_CLEARED}
    return rows.move(connection, RUN, row, "queued", now, worker=worker, note=RELEASED_NOTE, values=values)


def heartbeat(connection: Connection, request_id: int, worker: str, lease_s: float, now: datetime) -> bool:
    """Extend the lease; False if `worker` no longer holds it."""
    return rows.heartbeat(connection, RUN, request_id, worker, lease_s, now)


def reap(connection: Connection, now: datetime) -> ReapResult:
    """Hand back running requests whose lease expired, or end them as crashed with attempts used up."""
    return _hand_back(connection, rows.expired_leases(connection, RUN, now), None, now)


def abandon_leases(connection: Connection, workers: list[str], why: str, now: datetime) -> ReapResult:
    """Hand back (or crash) every request leased by `workers`, at once, recorded as abandoned because `why`."""
    return _hand_back(connection, rows.leases_of(connection, RUN, workers), why, now)


def _hand_back(connection: Connection, leased: list[RowMapping], why: str | None, now: datetime) -> ReapResult:
    result = ReapResult()
    serialise(connection, "queue", [row["queue_name"] for row in leased])  # all at once, in key order
    for row in leased:
        request = _after_abandon(connection, rows.abandon(connection, RUN, row, now, why), now)
        (result.runs_requeued if request.state == "queued" else result.runs_crashed).append(request.id)
        if row["run_id"]:
            result.orphaned_runs.append(row["run_id"])
        resumed = resume_if_work_is_left(connection, request, now)
        if resumed is not None:
            result.resumed.append(resumed)
    return result


def count(connection: Connection, schedule_id: str, states: Iterable[str]) -> int:
    """How many of the schedule's requests are in `states`."""
    return connection.execute(_COUNT, {"b_schedule": schedule_id, "b_states": list(states)}).scalar_one()


def listed(connection: Connection, schedule_id: str | None, states: Iterable[str] | None,
           limit: int) -> list[RunRequest]:
    """Up to `limit` requests, newest first."""
    query = select(run_requests).order_by(run_requests.c.enqueued_at.desc(), run_requests.c.id.desc()).limit(limit)
    if schedule_id is not None:
        query = query.where(run_requests.c.schedule_id == schedule_id)
    if states is not None:
        query = query.where(run_requests.c.state.in_(list(states)))
    return [RunRequest(**row) for row in connection.execute(query).mappings()]


def get(connection: Connection, request_id: int) -> RunRequest | None:
    """The request with this id, None if there is none."""
    row = rows.fetch(connection, RUN, request_id)
    return None if row is None else RunRequest(**row)


def history(connection: Connection, request_id: int) -> list[RunEvent]:
    """Every state change of the request, oldest first."""
    return rows.history(connection, RUN, request_id)


def last_fire_time(connection: Connection, schedule_id: str) -> datetime | None:
    """The latest fire time recorded for the schedule, in any state."""
    return connection.execute(_LAST_FIRE, {"b_schedule": schedule_id}).scalar()


def _after_abandon(connection: Connection, row: Mapping[str, Any], now: datetime) -> RunRequest:
    if row["attempts"] >= row["max_attempts"]:
        error = (f"crashed: abandoned on its last attempt ({row['attempts']} of {row['max_attempts']}); "
                 "the worker stopped heartbeating and its lease expired")
        values = {"finished_at": now, "error": error, **LEASE_CLEARED}
        return rows.move(connection, RUN, row, "crashed", now, worker=None, note=error, values=values)
    values = {"started_at": None, **LEASE_CLEARED}
    return rows.move(connection, RUN, row, "queued", now, worker=None, note="handed back after its lease expired",
                     values=values)
