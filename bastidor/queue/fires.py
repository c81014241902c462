"""Schedule fires recorded in batches: many run requests in one transaction, with the overlap decisions
taken inside it.

A batch gives exactly the rows that recording its fires one by one would give (`enqueue`): the same
keys, states, reasons and first history events. Each fire whose overlap policy must be checked is checked
against its schedule's running and queued requests *including the ones queued earlier in the same
batch*, so a batch of two fires of an `overlap: skip` schedule queues the first and skips the second.
The counts and the keys already taken are read with one query each per 500 fires, whatever the batch size.

On PostgreSQL a batch first takes the advisory lock of each of its schedules (`bastidor.queue.locks`, the
lock `enqueue_run` takes too), so when two processes record fires of one schedule at once (a scheduler
taking over from another) the second reads the keys and counts the first committed: a fire time is never
recorded twice, and overlap decisions count every request. The unique key is the last line of defence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select

from bastidor.queue import checks
from bastidor.queue.locks import serialise
from bastidor.queue.records import RUN_ENQUEUE_STATES
from bastidor.queue.rows import RUN
from bastidor.queue.schema import run_requests

LOOKUP_CHUNK = 500
OVERLAP_STATES = ("running", "queued")

OverlapCheck = Callable[[str, int, int], "str | None"]
"""``check(policy, running, queued)``: why a fire of a schedule with this overlap `policy` must be skipped
while `running` and `queued` requests of it exist, or None when a run may be queued."""

_TAKEN_KEYS = select(run_requests.c.key).where(run_requests.c.key.in_(bindparam("b_keys", expanding=True)))
_ACTIVE = (select(run_requests.c.schedule_id, run_requests.c.state, func.count())
           .where(run_requests.c.schedule_id.in_(bindparam("b_schedules", expanding=True)),
                  run_requests.c.state.in_(OVERLAP_STATES))
           .group_by(run_requests.c.schedule_id, run_requests.c.state))
_INSERT = insert(run_requests)
_IDS = select(run_requests.c.key, run_requests.c.id).where(run_requests.c.key.in_(bindparam("b_keys", expanding=True)))


@dataclass(frozen=True)
class NewFire:
    """One fire time of a schedule to record as a run request.

    `state` is what the caller decided (``queued``, ``skipped`` or ``missed``, with `reason` for the last
    two). A ``queued`` fire with an `overlap` policy is checked against that policy first and becomes
    ``skipped`` when the check says so; ``overlap=None`` queues it without a check."""

    key: str
    flow_path: str
    schedule_id: str
    fire_time: datetime
    inputs: dict[str, Any] = field(default_factory=dict)
    state: str = "queued"
    reason: str | None = None
    overlap: str | None = None
    priority: int = 0
    timeout_s: float | None = None
    max_attempts: int = 3
    requested_by: str = "scheduler"


@dataclass(frozen=True)
class RecordedFire:
    """What became of one `NewFire`: ``queued``, ``skipped``, ``missed``, or ``duplicate`` when its key was
    already taken (a key never yields two runs); `reason` is the one kept in the request's history."""

    fire: NewFire
    state: str
    reason: str | None = None


def checked(fire: NewFire) -> NewFire:
    """The fire, after the checks `enqueue_run` makes on each value (a `ValueError` names the wrong one)."""
    if not isinstance(fire, NewFire):
        raise ValueError(f"record_fires takes NewFire objects, got {type(fire).__name__}: wrap each fire in "
                         "NewFire(...).")
    checks.text("key", fire.key, 300)
    checks.text("flow_path", fire.flow_path, 4000)
    checks.text("requested_by", fire.requested_by, 200)
    checks.one_of("state", fire.state, RUN_ENQUEUE_STATES)
    checks.attempts(fire.max_attempts)
    if fire.timeout_s is not None:
        checks.seconds("timeout_s", fire.timeout_s)
    return replace(fire, fire_time=checks.aware("fire_time", fire.fire_time), priority=int(fire.priority))


def record(connection: Connection, fires: Sequence[NewFire], check: OverlapCheck, now: datetime) -> list[RecordedFire]:
    """Record `fires` in order inside the caller's transaction; one `RecordedFire` per fire, in order."""
    serialise(connection, "schedule", [fire.schedule_id for fire in fires])
    taken = _taken_keys(connection, [fire.key for fire in fires])
    active = _active_counts(connection, {fire.schedule_id for fire in fires})
    outcomes, rows = [], []
    for fire in fires:
        if fire.key in taken:
            outcomes.append(RecordedFire(fire, "duplicate"))
            continue
        taken.add(fire.key)
        outcome = _decide(fire, active.setdefault(fire.schedule_id, {}), check)
        outcomes.append(outcome)
        rows.append(_row(outcome, now))
    if rows:
        _insert(connection, rows, now)
    return outcomes


def _decide(fire: NewFire, counts: dict[str, int], check: OverlapCheck) -> RecordedFire:
    """The fire's state after its overlap check; a queued fire counts for the fires after it."""
    state, reason = fire.state, fire.reason
    if state == "queued" and fire.overlap is not None:
        refusal = check(fire.overlap, counts.get("running", 0), counts.get("queued", 0))
        if refusal is not None:
            state, reason = "skipped", refusal
    if state == "queued":
        counts["queued"] = counts.get("queued", 0) + 1
    return RecordedFire(fire, state, reason)


def _row(outcome: RecordedFire, now: datetime) -> dict[str, Any]:
    """The run request row, exactly as `run_ops.enqueue` writes it for one fire."""
    fire = outcome.fire
    return {"key": fire.key, "flow_path": fire.flow_path, "inputs": dict(fire.inputs),
            "requested_by": fire.requested_by, "schedule_id": fire.schedule_id, "fire_time": fire.fire_time,
            "priority": fire.priority, "not_before": None, "timeout_s": fire.timeout_s,
            "max_attempts": fire.max_attempts, "state": outcome.state, "attempts": 0, "enqueued_at": now,
            "error": outcome.reason}


def _insert(connection: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
    """Insert the rows (one executemany: SQLite cannot return their ids in order) and their first history event."""
    connection.execute(_INSERT, rows)
    ids: dict[str, int] = {}
    for chunk in _chunks([row["key"] for row in rows]):
        ids.update((key, request_id) for key, request_id in connection.execute(_IDS, {"b_keys": chunk}))
    events = [{"request_id": ids[row["key"]], "at": now, "from_state": None, "to_state": row["state"], "attempt": 0,
               "worker": None, "reason": row["error"]} for row in rows]
    connection.execute(RUN.statements["add_event"], events)


def _taken_keys(connection: Connection, keys: list[str]) -> set[str]:
    """Which of `keys` are already in the queue."""
    taken: set[str] = set()
    for chunk in _chunks(keys):
        taken.update(connection.execute(_TAKEN_KEYS, {"b_keys": chunk}).scalars())
    return taken


def _active_counts(connection: Connection, schedule_ids: set[str]) -> dict[str, dict[str, int]]:
    """Running and queued requests of each schedule, by schedule id and state."""
    counts: dict[str, dict[str, int]] = {}
    for chunk in _chunks(sorted(schedule_ids)):
        for schedule_id, state, count in connection.execute(_ACTIVE, {"b_schedules": chunk}):
            counts.setdefault(schedule_id, {})[state] = count
    return counts


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), LOOKUP_CHUNK):
        yield values[start:start + LOOKUP_CHUNK]
