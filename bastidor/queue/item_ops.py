"""Work item operations, each inside the caller's open transaction (SQLAlchemy Core), shared by the SQLite
and PostgreSQL backends.

Why each is safe when several machines call it at once on PostgreSQL (READ COMMITTED):
- `claim` picks its row with ``FOR UPDATE SKIP LOCKED``: a row another claimer has locked is passed over,
  and the one it gets is re-checked against the query once locked, so no item is ever leased twice.
- `complete`, `fail`, `postpone`, `release` and `requeue` lock the row before reading it (`rows.leased`):
  a reaper that locked it first has handed it back by then, and the late owner gets `LeaseLost`.
- `reap` locks expired and overdue rows with ``SKIP LOCKED``: two reapers hand back disjoint rows.
- `add` reads which references exist, then inserts the others: under the queue's advisory lock
  (`bastidor.queue.locks`), so two adders of one reference run one after the other and the second sees
  it. The unique constraint on (queue, reference) stays the last line of defence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, func, insert, or_, select

from bastidor.queue import rows
from bastidor.queue.base import NotFound, QueueError
from bastidor.queue.locks import serialise
from bastidor.queue.records import ITEM_STATES, AddResult, ItemEvent, NewItem, ReapResult, WaitingWork, WorkItem
from bastidor.queue.retry import Backoff
from bastidor.queue.rows import ITEM, LEASE_CLEARED, RELEASED_NOTE
from bastidor.queue.schema import run_requests, work_items
from bastidor.store.schema import UtcDateTime

LOOKUP_CHUNK = 500
DEADLINE_PASSED = "deadline passed"

_NEXT = (select(work_items.c.id)
         .where(work_items.c.queue_name == bindparam("b_queue"), work_items.c.state == "new",
                or_(work_items.c.defer_until.is_(None), work_items.c.defer_until <= bindparam("b_now")))
         .order_by(work_items.c.priority.desc(), work_items.c.created_at, work_items.c.id).limit(1)
         .with_for_update(skip_locked=True))
_OVERDUE = (select(work_items).where(work_items.c.state == "new", work_items.c.deadline < bindparam("b_now"))
            .order_by(work_items.c.id).with_for_update(skip_locked=True))
_STATES_BY_REFERENCE = select(work_items.c.reference, work_items.c.state).where(
    work_items.c.queue_name == bindparam("b_queue"), work_items.c.reference.in_(bindparam("b_refs", expanding=True)))
_INSERT = insert(work_items).returning(work_items.c.id, sort_by_parameter_order=True)
_COUNTS = (select(work_items.c.state, func.count()).where(work_items.c.queue_name == bindparam("b_queue"))
           .group_by(work_items.c.state))


def add(connection: Connection, queue_name: str, new_items: Sequence[NewItem], max_attempts: int,
        now: datetime) -> AddResult:
    """Insert the items whose reference is not in the queue yet; report the others by their state."""
    serialise(connection, "queue", [queue_name])
    known = _states_by_reference(connection, queue_name, [item.reference for item in new_items])
    result = AddResult()
    fresh: list[dict[str, Any]] = []
    for item in new_items:
        state = known.get(item.reference)
        if state is None:
            known[item.reference] = "new"
            fresh.append(_new_row(queue_name, item, max_attempts, now))
            result.added.append(item.reference)
        else:
            _bucket(result, state).append(item.reference)
    if fresh:
        ids = connection.execute(_INSERT, fresh).scalars().all()
        events = [{"item_id": item_id, "at": now, "from_state": None, "to_state": "new", "attempt": 0}
                  for item_id in ids]
        connection.execute(ITEM.statements["add_event"], events)
    return result


def claim(connection: Connection, queue_name: str, worker: str, lease_s: float, run_id: str | None,
          now: datetime) -> WorkItem | None:
    """Lease the best claimable item of the queue to `worker` (after reaping), None if there is none."""
    reap(connection, now)
    item_id = connection.execute(_NEXT, {"b_queue": queue_name, "b_now": now}).scalar()
    if item_id is None:
        return None
    extra: dict[str, Any] = {"updated_at": now} | ({"run_id": run_id} if run_id is not None else {})
    return rows.claim(connection, ITEM, item_id, "new", worker, lease_s, now, extra)


def complete(connection: Connection, item_id: int, worker: str, output: Any, now: datetime) -> WorkItem:
    """Mark the leased item successful."""
    row, repeated = rows.leased_or_repeated(connection, ITEM, item_id, worker, now, ("successful",))
    if repeated:
        return WorkItem(**row)
    values = {"output": output, "reason": None, "exception_kind": None, "updated_at": now, **LEASE_CLEARED}
    return rows.move(connection, ITEM, row, "successful", now, worker=worker, note=None, values=values)


def fail(connection: Connection, item_id: int, worker: str, reason: str, business: bool,
         retry_in_s: float | None, backoff: Backoff, now: datetime) -> WorkItem:
    """Fail the leased item for good (business, or attempts used up) or send it back for a retry."""
    row, repeated = rows.leased_or_repeated(connection, ITEM, item_id, worker, now, ("failed", "new"))
    if repeated:
        return WorkItem(**row)
    kind = "business" if business else "application"
    values = {"exception_kind": kind, "reason": reason, "updated_at": now, **LEASE_CLEARED}
    if business or row["attempts"] >= row["max_attempts"]:
        note = f"{kind} exception: {reason}"
        return rows.move(connection, ITEM, row, "failed", now, worker=worker, note=note, values=values)
    delay = backoff.delay_s(row["attempts"]) if retry_in_s is None else retry_in_s
    values["defer_until"] = now + timedelta(seconds=delay)
    note = f"application exception, retry in {delay:g} s: {reason}"
    return rows.move(connection, ITEM, row, "new", now, worker=worker, note=note, values=values)


def postpone(connection: Connection, item_id: int, worker: str, until: datetime, reason: str | None,
             now: datetime) -> WorkItem:
    """Hand the leased item back as new, claimable from `until`, without counting the attempt."""
    note = f"postponed until {until.isoformat()}" + (f": {reason}" if reason else "")
    return _give_back(connection, item_id, worker, until, note, now)


def release(connection: Connection, item_id: int, worker: str, now: datetime) -> WorkItem:
    """Hand the leased item back as new at once, without counting the attempt."""
    return _give_back(connection, item_id, worker, None, RELEASED_NOTE, now)


def _give_back(connection: Connection, item_id: int, worker: str, defer_until: datetime | None, note: str,
               now: datetime) -> WorkItem:
    row, repeated = rows.leased_or_repeated(connection, ITEM, item_id, worker, now, ("new",))
    if repeated:
        return WorkItem(**row)
    values = {"attempts": row["attempts"] - 1, "updated_at": now, **LEASE_CLEARED}
    if defer_until is not None:
        values["defer_until"] = defer_until
    return rows.move(connection, ITEM, row, "new", now, worker=worker, note=note, values=values)


def requeue(connection: Connection, item_id: int, by: str, note: str | None, now: datetime) -> WorkItem:
    """Send a failed item back to new, with a fresh set of attempts, on a person's request."""
    row = rows.locked(connection, ITEM, item_id)
    if row is None:
        raise NotFound(f"No work item has the id {item_id}; pick one from the list of failed items.")
    if row["state"] == "new" and rows.repeated(connection, ITEM, row, "failed", None, now):
        return WorkItem(**row)
    if row["state"] != "failed":
        raise QueueError(f"Work item {item_id} ({row['reference']}) is {row['state']}, not failed: only a failed "
                         "item can be sent back for a retry.")
    values = {"attempts": 0, "reason": None, "exception_kind": None, "defer_until": None, "deadline": None,
              "updated_at": now}
    text = f"requeued by {by}" + (f": {note}" if note else "")
    if row["deadline"] is not None:  # else an item failed as "deadline passed" would fail again at once
        text += f" (its deadline, {row['deadline']:%Y-%m-%d %H:%M} UTC, no longer applies)"
    return rows.move(connection, ITEM, row, "new", now, worker=None, note=text, values=values)


def heartbeat(connection: Connection, item_id: int, worker: str, lease_s: float, now: datetime) -> bool:
    """Extend the lease; False if `worker` no longer holds it."""
    return rows.heartbeat(connection, ITEM, item_id, worker, lease_s, now)


def reap(connection: Connection, now: datetime) -> ReapResult:
    """Hand back items whose lease expired (or fail them), and fail new items past their deadline."""
    result = _hand_back(connection, rows.expired_leases(connection, ITEM, now), None, now)
    for row in connection.execute(_OVERDUE, {"b_now": now}).mappings().all():
        result.items_failed.append(_fail_overdue(connection, row, now).id)
    return result


def abandon_leases(connection: Connection, workers: list[str], why: str, now: datetime) -> ReapResult:
    """Hand back (or fail) every item leased by `workers`, at once, recorded as abandoned because `why`."""
    return _hand_back(connection, rows.leases_of(connection, ITEM, workers), why, now)


def _hand_back(connection: Connection, leased: list[RowMapping], why: str | None, now: datetime) -> ReapResult:
    result = ReapResult()
    for row in leased:
        item = _after_abandon(connection, rows.abandon(connection, ITEM, row, now, why), now)
        (result.items_requeued if item.state == "new" else result.items_failed).append(item.id)
    return result


def claimable(connection: Connection, queue_name: str, now: datetime) -> int:
    """How many new items of the queue may be claimed at `now`."""
    query = select(func.count()).where(
        work_items.c.queue_name == queue_name, work_items.c.state == "new",
        or_(work_items.c.defer_until.is_(None), work_items.c.defer_until <= now))
    return connection.execute(query).scalar_one()


def outcomes_of_run(connection: Connection, run_id: str) -> dict[str, str]:
    """The state of each item last claimed by the run, by reference."""
    query = select(work_items.c.reference, work_items.c.state).where(work_items.c.run_id == run_id)
    return {reference: state for reference, state in connection.execute(query)}


def waiting_work(connection: Connection) -> list[WaitingWork]:
    """Queues with new items and no queued or running request bound to them, oldest work first."""
    due = func.min(func.coalesce(work_items.c.defer_until, work_items.c.created_at), type_=UtcDateTime)
    taken = select(run_requests.c.queue_name).where(run_requests.c.queue_name.is_not(None),
                                                   run_requests.c.state.in_(("queued", "running")))
    query = (select(work_items.c.queue_name, func.count(), due)
             .where(work_items.c.state == "new", work_items.c.queue_name.not_in(taken))
             .group_by(work_items.c.queue_name).order_by(work_items.c.queue_name))
    return [WaitingWork(name, count, earliest) for name, count, earliest in connection.execute(query)]


def get(connection: Connection, item_id: int) -> WorkItem | None:
    """The item with this id, None if there is none."""
    row = rows.fetch(connection, ITEM, item_id)
    return None if row is None else WorkItem(**row)


def listed(connection: Connection, queue_name: str, state: str | None, limit: int | None) -> list[WorkItem]:
    """The queue's items in the order they were added, optionally in one state."""
    query = select(work_items).where(work_items.c.queue_name == queue_name).order_by(work_items.c.id).limit(limit)
    if state is not None:
        query = query.where(work_items.c.state == state)
    return [WorkItem(**row) for row in connection.execute(query).mappings()]


def counts(connection: Connection, queue_name: str) -> dict[str, int]:
    """How many of the queue's items are in each state, zeros included."""
    found = {state: count for state, count in connection.execute(_COUNTS, {"b_queue": queue_name})}
    return {state: found.get(state, 0) for state in ITEM_STATES}


def history(connection: Connection, item_id: int) -> list[ItemEvent]:
    """Every state change of the item, oldest first."""
    return rows.history(connection, ITEM, item_id)


def _after_abandon(connection: Connection, row: Mapping[str, Any], now: datetime) -> WorkItem:
    values = {"updated_at": now, **LEASE_CLEARED}
    if row["deadline"] is not None and row["deadline"] < now:
        return _fail_overdue(connection, row, now)
    if row["attempts"] >= row["max_attempts"]:
        reason = f"abandoned on its last attempt ({row['attempts']} of {row['max_attempts']}): the lease expired"
        values |= {"exception_kind": "application", "reason": reason}
        return rows.move(connection, ITEM, row, "failed", now, worker=None, note=reason, values=values)
    return rows.move(connection, ITEM, row, "new", now, worker=None, note="handed back after its lease expired",
                     values=values)


def _fail_overdue(connection: Connection, row: Mapping[str, Any], now: datetime) -> WorkItem:
    values = {"exception_kind": "application", "reason": DEADLINE_PASSED, "updated_at": now, **LEASE_CLEARED}
    return rows.move(connection, ITEM, row, "failed", now, worker=None, note=DEADLINE_PASSED, values=values)


def _states_by_reference(connection: Connection, queue_name: str, references: list[str]) -> dict[str, str]:
    unique = sorted(set(references))
    found: dict[str, str] = {}
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start:start + LOOKUP_CHUNK]
        params = {"b_queue": queue_name, "b_refs": chunk}
        found.update({reference: state for reference, state in connection.execute(_STATES_BY_REFERENCE, params)})
    return found


def _bucket(result: AddResult, state: str) -> list[str]:
    if state == "successful":
        return result.already_processed
    if state == "failed":
        return result.previously_failed
    return result.already_queued


def _new_row(queue_name: str, item: NewItem, max_attempts: int, now: datetime) -> dict[str, Any]:
    return {"queue_name": queue_name, "reference": item.reference, "data": item.data, "state": "new",
            "attempts": 0, "max_attempts": max_attempts, "priority": item.priority, "created_at": now,
            "updated_at": now, "defer_until": item.defer_until, "deadline": item.deadline}
