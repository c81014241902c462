"""`SqliteWorkQueue`: the embedded work queue in one SQLite file, safe across processes on one machine.

Every change is one short ``BEGIN IMMEDIATE`` transaction, so a claim's "find the best row" and "lease
it" happen under SQLite's write lock and two processes can never claim the same row. Claims reap
expired leases first, so a killed worker's row comes back without a separate reaper process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bastidor.queue import checks, item_ops, run_ops
from bastidor.queue import fires as fire_ops
from bastidor.queue.base import WorkQueue
from bastidor.queue.engine import SqliteDatabase
from bastidor.queue.fires import NewFire, OverlapCheck, RecordedFire
from bastidor.queue.records import (
    WaitingWork,
    RUN_ENQUEUE_STATES,
    RUN_FINISH_STATES,
    AddResult,
    ItemEvent,
    NewItem,
    ReapResult,
    RunEvent,
    RunRequest,
    WorkItem,
)
from bastidor.queue.retry import Backoff


class SqliteWorkQueue(WorkQueue):
    """The `WorkQueue` in a SQLite file (created with its folder if missing). Open one per process."""

    def __init__(self, path: str | Path, *, backoff: Backoff = Backoff(), synchronous: str = "FULL") -> None:
        self.path = Path(path).expanduser().resolve()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.backoff = backoff
        self.database = SqliteDatabase(self.path, synchronous=checks.one_of(
            "synchronous", synchronous.upper(), ("FULL", "NORMAL")))

    def enqueue_run(self, key: str, flow_path: str, inputs: dict[str, Any], *, requested_by: str,
                    schedule_id: str | None = None, fire_time: datetime | None = None, priority: int = 0,
                    not_before: datetime | None = None, timeout_s: float | None = None, max_attempts: int = 3,
                    state: str = "queued", reason: str | None = None, now: datetime | None = None) -> bool:
        """Record a run request; False if `key` exists (a key never yields two runs)."""
        values = {
            "key": checks.text("key", key, 300), "flow_path": checks.text("flow_path", str(flow_path), 4000),
            "inputs": dict(inputs), "requested_by": checks.text("requested_by", requested_by, 200),
            "schedule_id": schedule_id, "fire_time": checks.maybe_aware("fire_time", fire_time),
            "priority": int(priority), "not_before": checks.maybe_aware("not_before", not_before),
            "timeout_s": None if timeout_s is None else checks.seconds("timeout_s", timeout_s),
            "max_attempts": checks.attempts(max_attempts), "state": checks.one_of("state", state, RUN_ENQUEUE_STATES),
        }
        moment = checks.resolve_now(now)
        with self.database.writing() as connection:
            return run_ops.enqueue(connection, values, reason, moment) is not None

    def claim_run(self, worker: str, lease_s: float, *, now: datetime | None = None) -> RunRequest | None:
        """Lease the queued request with the highest priority, then the oldest, whose not_before passed."""
        worker, lease_s, moment = _worker(worker), checks.seconds("lease_s", lease_s), checks.resolve_now(now)
        with self.database.writing() as connection:
            return run_ops.claim(connection, worker, lease_s, moment)

    def heartbeat_run(self, request_id: int, worker: str, lease_s: float, *, now: datetime | None = None) -> bool:
        """Extend the lease to now + `lease_s`; False if `worker` no longer holds it."""
        lease_s, moment = checks.seconds("lease_s", lease_s), checks.resolve_now(now)
        with self.database.writing() as connection:
            return run_ops.heartbeat(connection, request_id, worker, lease_s, moment)

    def finish_run(self, request_id: int, worker: str, state: str, *, run_id: str | None = None,
                   error: str | None = None, now: datetime | None = None) -> RunRequest:
        """End a leased request as done, failed, crashed or interrupted; `LeaseLost` if the lease was lost.
        When its run left items waiting in its queue and no other request will take them, a resume request
        is enqueued in the same transaction (see `bastidor.queue.resume`)."""
        state, moment = checks.one_of("state", state, RUN_FINISH_STATES), checks.resolve_now(now)
        with self.database.writing() as connection:
            return run_ops.finish(connection, request_id, worker, state, run_id, error, moment)

    def attach_run(self, request_id: int, worker: str, run_id: str) -> RunRequest:
        """Record the run id a worker started for its leased request; `LeaseLost` if it lost the lease."""
        with self.database.writing() as connection:
            return run_ops.attach(connection, request_id, worker, checks.text("run_id", run_id, 64))

    def bind_queue(self, request_id: int, worker: str, queue_name: str) -> RunRequest:
        """Record the work-item queue the leased request's run takes items from; `LeaseLost` if it lost the lease."""
        with self.database.writing() as connection:
            return run_ops.bind_queue(connection, request_id, worker, checks.text("queue_name", queue_name, 200))

    def release_run(self, request_id: int, worker: str, *, now: datetime | None = None) -> RunRequest:
        """Hand a leased request back to the queue without counting the attempt (e.g. on shutdown)."""
        moment = checks.resolve_now(now)
        with self.database.writing() as connection:
            return run_ops.release(connection, request_id, worker, moment)

    def record_fires(self, fires: Sequence[NewFire], *, check_overlap: OverlapCheck,
                     now: datetime | None = None) -> list[RecordedFire]:
        """Record many schedule fires in one ``BEGIN IMMEDIATE`` transaction, in order (see `bastidor.queue.fires`)."""
        checked, moment = [fire_ops.checked(fire) for fire in fires], checks.resolve_now(now)
        if not checked:
            return []
        with self.database.writing() as connection:
            return fire_ops.record(connection, checked, check_overlap, moment)

    def count_runs(self, schedule_id: str, states: Iterable[str]) -> int:
        """Count a schedule's requests in `states` (for overlap policies)."""
        with self.database.reading() as connection:
            return run_ops.count(connection, schedule_id, states)

    def list_runs(self, *, schedule_id: str | None = None, states: Iterable[str] | None = None,
                  limit: int = 100) -> list[RunRequest]:
        """Return up to `limit` requests, newest first, optionally of one schedule and some states."""
        with self.database.reading() as connection:
            return run_ops.listed(connection, schedule_id, states, limit)

    def get_run(self, request_id: int) -> RunRequest | None:
        """Return the run request with this id, None if there is none."""
        with self.database.reading() as connection:
            return run_ops.get(connection, request_id)

    def run_history(self, request_id: int) -> list[RunEvent]:
        """Return every state change of a run request, oldest first."""
        with self.database.reading() as connection:
            return run_ops.history(connection, request_id)

    def last_fire_time(self, schedule_id: str) -> datetime | None:
        """Return the latest fire time recorded for the schedule in any state, None if it never fired."""
        with self.database.reading() as connection:
            return run_ops.last_fire_time(connection, schedule_id)

    def add_items(self, queue_name: str, items: Sequence[NewItem], *, max_attempts: int = 3,
                  now: datetime | None = None) -> AddResult:
        """Add new items; a reference already in the queue is reported, never added twice."""
        queue_name, max_attempts = checks.text("queue_name", queue_name, 200), checks.attempts(max_attempts)
        checked = [_checked_item(item) for item in items]
        moment = checks.resolve_now(now)
        with self.database.writing() as connection:
            return item_ops.add(connection, queue_name, checked, max_attempts, moment)

    def claim_item(self, queue_name: str, worker: str, lease_s: float, *, run_id: str | None = None,
                   now: datetime | None = None) -> WorkItem | None:
        """Lease the new item with the highest priority, then the oldest, whose defer_until passed."""
        queue_name = checks.text("queue_name", queue_name, 200)
        worker, lease_s, moment = _worker(worker), checks.seconds("lease_s", lease_s), checks.resolve_now(now)
        with self.database.writing() as connection:
            return item_ops.claim(connection, queue_name, worker, lease_s, run_id, moment)

    def heartbeat_item(self, item_id: int, worker: str, lease_s: float, *, now: datetime | None = None) -> bool:
        """Extend the lease to now + `lease_s`; False if `worker` no longer holds it."""
        lease_s, moment = checks.seconds("lease_s", lease_s), checks.resolve_now(now)
        with self.database.writing() as connection:
            return item_ops.heartbeat(connection, item_id, worker, lease_s, moment)

    def complete_item(self, item_id: int, worker: str, output: Any = None, *,
                      now: datetime | None = None) -> WorkItem:
        """Mark a leased item successful with its `output`; `LeaseLost` if the lease was lost."""
        moment = checks.resolve_now(now)
        with self.database.writing() as connection:
            return item_ops.complete(connection, item_id, worker, output, moment)

    def fail_item(self, item_id: int, worker: str, reason: str, *, business: bool,
                  retry_in_s: float | None = None, now: datetime | None = None) -> WorkItem:
        """Fail a leased item: business for good; application back to new after a backoff while
        attempts remain, else failed."""
        reason = checks.text("reason", reason, 10_000)
        retry_in_s = None if retry_in_s is None else checks.seconds("retry_in_s", retry_in_s, allow_zero=True)
        moment = checks.resolve_now(now)
        with self.database.writing() as connection:
            return item_ops.fail(connection, item_id, worker, reason, bool(business), retry_in_s, self.backoff,
                                 moment)

    def postpone_item(self, item_id: int, worker: str, until: datetime, *, reason: str | None = None,
                      now: datetime | None = None) -> WorkItem:
        """Hand a leased item back as new, not to be claimed before `until`; the attempt is not counted."""
        until, moment = checks.aware("until", until), checks.resolve_now(now)
        with self.database.writing() as connection:
            return item_ops.postpone(connection, item_id, worker, until, reason, moment)

    def release_item(self, item_id: int, worker: str, *, now: datetime | None = None) -> WorkItem:
        """Hand a leased item back as new at once, without counting the attempt (e.g. on shutdown)."""
        moment = checks.resolve_now(now)
        with self.database.writing() as connection:
            return item_ops.release(connection, item_id, worker, moment)

    def requeue_item(self, item_id: int, by: str, *, note: str | None = None,
                     now: datetime | None = None) -> WorkItem:
        """Send a failed item back to new with fresh attempts (a person's decision, recorded with `by`)."""
        by, moment = checks.text("by", by, 255), checks.resolve_now(now)
        note = None if note is None else checks.text("note", note, 2000)
        with self.database.writing() as connection:
            return item_ops.requeue(connection, item_id, by, note, moment)

    def reap_expired(self, *, now: datetime | None = None) -> ReapResult:
        """Hand back rows whose lease expired (recorded as abandoned) and fail items past their deadline."""
        moment = checks.resolve_now(now)
        with self.database.writing() as connection:
            result = item_ops.reap(connection, moment)
            runs = run_ops.reap(connection, moment)
        result.runs_requeued, result.runs_crashed = runs.runs_requeued, runs.runs_crashed
        result.orphaned_runs = runs.orphaned_runs
        return result

    def abandon_leases(self, workers: Iterable[str], *, reason: str = "its worker was stopped",
                       now: datetime | None = None) -> ReapResult:
        """Hand back at once every row leased by `workers` (known dead), recorded as abandoned with `reason`."""
        names, moment = [_worker(worker) for worker in workers], checks.resolve_now(now)
        reason = checks.text("reason", reason, 1000)
        if not names:
            return ReapResult()
        with self.database.writing() as connection:
            result = item_ops.abandon_leases(connection, names, reason, moment)
            runs = run_ops.abandon_leases(connection, names, reason, moment)
        result.runs_requeued, result.runs_crashed = runs.runs_requeued, runs.runs_crashed
        result.orphaned_runs = runs.orphaned_runs
        return result

    def counts(self, queue_name: str) -> dict[str, int]:
        """Return how many items of the queue are in each state (every state, zeros included)."""
        with self.database.reading() as connection:
            return item_ops.counts(connection, queue_name)

    def claimable(self, queue_name: str, *, now: datetime | None = None) -> int:
        """How many new items of the queue may be claimed now (their retry or postponement time passed)."""
        moment = checks.resolve_now(now)
        with self.database.reading() as connection:
            return item_ops.claimable(connection, queue_name, moment)

    def outcomes_of_run(self, run_id: str) -> dict[str, str]:
        """The state of each item last claimed by the run `run_id`, by reference."""
        with self.database.reading() as connection:
            return item_ops.outcomes_of_run(connection, run_id)

    def waiting_work(self) -> list[WaitingWork]:
        """Queues whose items wait (state new) while no run request is queued or running to take them."""
        with self.database.reading() as connection:
            return item_ops.waiting_work(connection)

    def history(self, item_id: int) -> list[ItemEvent]:
        """Return every state change of a work item, oldest first."""
        with self.database.reading() as connection:
            return item_ops.history(connection, item_id)

    def get_item(self, item_id: int) -> WorkItem | None:
        """Return the work item with this id, None if there is none."""
        with self.database.reading() as connection:
            return item_ops.get(connection, item_id)

    def items(self, queue_name: str, state: str | None = None, *, limit: int | None = None) -> list[WorkItem]:
        """Return the queue's items (optionally in one state) in the order they were added."""
        with self.database.reading() as connection:
            return item_ops.listed(connection, queue_name, state, limit)

    def close(self) -> None:
        """Release connections. The queue cannot be used afterwards."""
        self.database.close()


def _worker(worker: str) -> str:
    return checks.text("worker", worker, 255)


def _checked_item(item: NewItem) -> NewItem:
    if not isinstance(item, NewItem):
        raise ValueError(f"add_items takes NewItem objects, got {type(item).__name__}: wrap each row in NewItem(...).")
    checks.text("reference", item.reference, 255)
    return NewItem(reference=item.reference, data=item.data, priority=int(item.priority),
                   defer_until=checks.maybe_aware("defer_until", item.defer_until),
                   deadline=checks.maybe_aware("deadline", item.deadline))
