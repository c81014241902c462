"""`SqlWorkQueue`: the `WorkQueue` over SQLAlchemy Core, the same code for SQLite and PostgreSQL.

Each method checks its arguments, then runs one operation (`item_ops`, `run_ops`, `fires`) as one
transaction through its backend's `QueueDatabase`: `SqliteDatabase` (``BEGIN IMMEDIATE``) or
`PostgresDatabase` (row locks, advisory locks, retried through lost connections). The current time is read
once, before the transaction, so an operation that must be run again after a lost connection records
the same moment, and a repeated outcome is recognised by it (see `bastidor.queue.rows`). Claims and
heartbeats are the exception: they read the time in each attempt, so a lease granted after a long
reconnect runs from when it was granted, not from before the outage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection

from bastidor.queue import checks, item_ops, run_ops
from bastidor.queue import fires as fire_ops
from bastidor.queue.base import WorkQueue
from bastidor.queue.fires import NewFire, OverlapCheck, RecordedFire
from bastidor.queue.records import (
    RUN_ENQUEUE_STATES,
    RUN_FINISH_STATES,
    AddResult,
    ItemEvent,
    NewItem,
    ReapResult,
    RunEvent,
    RunRequest,
    WaitingWork,
    WorkItem,
)
from bastidor.queue.retry import Backoff

T = TypeVar("T")


class QueueDatabase(Protocol):
    """What the queue needs of a backend: run a function of a connection as one write or read transaction."""

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one write transaction and commit it; its result."""
        ...

    def read(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one read transaction; its result."""
        ...

    def close(self) -> None:
        """Release what the database holds for this queue."""
        ...


class SqlWorkQueue(WorkQueue):
    """The `WorkQueue` on a `QueueDatabase`; `SqliteWorkQueue` and `PostgresWorkQueue` choose the database."""

    database: QueueDatabase
    backoff: Backoff

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
        return self.database.write(lambda c: run_ops.enqueue_request(c, values, reason, moment)) is not None

    def claim_run(self, worker: str, lease_s: float, *, now: datetime | None = None) -> RunRequest | None:
        """Lease the queued request with the highest priority, then the oldest, whose not_before passed."""
        worker, lease_s = _worker(worker), checks.seconds("lease_s", lease_s)
        return self.database.write(lambda c: run_ops.claim(c, worker, lease_s, checks.resolve_now(now)))

    def heartbeat_run(self, request_id: int, worker: str, lease_s: float, *, now: datetime | None = None) -> bool:
        """Extend the lease to now + `lease_s`; False if `worker` no longer holds it."""
        lease_s = checks.seconds("lease_s", lease_s)
        return self.database.write(lambda c: run_ops.heartbeat(c, request_id, worker, lease_s, checks.resolve_now(now)))

    def finish_run(self, request_id: int, worker: str, state: str, *, run_id: str | None = None,
                   error: str | None = None, now: datetime | None = None) -> RunRequest:
        """End a leased request as done, failed, crashed or interrupted; `LeaseLost` if the lease was lost.
        When its run left items waiting in its queue and no other request will take them, a resume request
        is enqueued in the same transaction (see `bastidor.queue.resume`)."""
        state, moment = checks.one_of("state", state, RUN_FINISH_STATES), checks.resolve_now(now)
        return self.database.write(lambda c: run_ops.finish(c, request_id, worker, state, run_id, error, moment))

    def attach_run(self, request_id: int, worker: str, run_id: str) -> RunRequest:
        """Record the run id a worker started for its leased request; `LeaseLost` if it lost the lease."""
        run_id = checks.text("run_id", run_id, 64)
        return self.database.write(lambda c: run_ops.attach(c, request_id, worker, run_id))

    def bind_queue(self, request_id: int, worker: str, queue_name: str) -> RunRequest:
        """Record the work-item queue the leased request's run takes items from; `LeaseLost` if it lost the lease."""
        queue_name = checks.text("queue_name", queue_name, 200)
        return self.database.write(lambda c: run_ops.bind_queue(c, request_id, worker, queue_name))

    def release_run(self, request_id: int, worker: str, *, now: datetime | None = None) -> RunRequest:
        """Hand a leased request back to the queue without counting the attempt (e.g. on shutdown)."""
        moment = checks.resolve_now(now)
        return self.database.write(lambda c: run_ops.release(c, request_id, worker, moment))

    def record_fires(self, fires: Sequence[NewFire], *, check_overlap: OverlapCheck,
                     now: datetime | None = None) -> list[RecordedFire]:
        """Record many schedule fires in one transaction, in order (see `bastidor.queue.fires`)."""
        checked, moment = [fire_ops.checked(fire) for fire in fires], checks.resolve_now(now)
        if not checked:
            return []
        return self.database.write(lambda c: fire_ops.record(c, checked, check_overlap, moment))

    def count_runs(self, schedule_id: str, states: Iterable[str]) -> int:
        """Count a schedule's requests in `states` (for overlap policies)."""
        states = list(states)
        return self.database.read(lambda c: run_ops.count(c, schedule_id, states))

    def list_runs(self, *, schedule_id: str | None = None, states: Iterable[str] | None = None,
                  limit: int = 100) -> list[RunRequest]:
        """Return up to `limit` requests, newest first, optionally of one schedule and some states."""
        states = None if states is None else list(states)
        return self.database.read(lambda c: run_ops.listed(c, schedule_id, states, limit))

    def get_run(self, request_id: int) -> RunRequest | None:
        """Return the run request with this id, None if there is none."""
        return self.database.read(lambda c: run_ops.get(c, request_id))

    def run_history(self, request_id: int) -> list[RunEvent]:
        """Return every state change of a run request, oldest first."""
        return self.database.read(lambda c: run_ops.history(c, request_id))

    def last_fire_time(self, schedule_id: str) -> datetime | None:
        """Return the latest fire time recorded for the schedule in any state, None if it never fired."""
        return self.database.read(lambda c: run_ops.last_fire_time(c, schedule_id))

    def add_items(self, queue_name: str, items: Sequence[NewItem], *, max_attempts: int = 3,
                  now: datetime | None = None) -> AddResult:
        """Add new items; a reference already in the queue is reported, never added twice."""
        queue_name, max_attempts = checks.text("queue_name", queue_name, 200), checks.attempts(max_attempts)
        checked = [_checked_item(item) for item in items]
        moment = checks.resolve_now(now)
        return self.database.write(lambda c: item_ops.add(c, queue_name, checked, max_attempts, moment))

    def claim_item(self, queue_name: str, worker: str, lease_s: float, *, run_id: str | None = None,
                   now: datetime | None = None) -> WorkItem | None:
        """Lease the new item with the highest priority, then the oldest, whose defer_until passed."""
        queue_name = checks.text("queue_name", queue_name, 200)
        worker, lease_s = _worker(worker), checks.seconds("lease_s", lease_s)
        return self.database.write(
            lambda c: item_ops.claim(c, queue_name, worker, lease_s, run_id, checks.resolve_now(now)))

    def heartbeat_item(self, item_id: int, worker: str, lease_s: float, *, now: datetime | None = None) -> bool:
        """Extend the lease to now + `lease_s`; False if `worker` no longer holds it."""
        lease_s = checks.seconds("lease_s", lease_s)
        return self.database.write(lambda c: item_ops.heartbeat(c, item_id, worker, lease_s, checks.resolve_now(now)))

    def complete_item(self, item_id: int, worker: str, output: Any = None, *,
                      now: datetime | None = None) -> WorkItem:
        """Mark a leased item successful with its `output`; `LeaseLost` if the lease was lost."""
        moment = checks.resolve_now(now)
        return self.database.write(lambda c: item_ops.complete(c, item_id, worker, output, moment))

    def fail_item(self, item_id: int, worker: str, reason: str, *, business: bool,
                  retry_in_s: float | None = None, now: datetime | None = None) -> WorkItem:
        """Fail a leased item: business for good; application back to new after a backoff while
        attempts remain, else failed."""
        reason = checks.text("reason", reason, 10_000)
        retry_in_s = None if retry_in_s is None else checks.seconds("retry_in_s", retry_in_s, allow_zero=True)
        moment = checks.resolve_now(now)
        return self.database.write(lambda c: item_ops.fail(c, item_id, worker, reason, bool(business), retry_in_s,
                                                           self.backoff, moment))

    def postpone_item(self, item_id: int, worker: str, until: datetime, *, reason: str | None = None,
                      now: datetime | None = None) -> WorkItem:
        """Hand a leased item back as new, not to be claimed before `until`; the attempt is not counted."""
        until, moment = checks.aware("until", until), checks.resolve_now(now)
        return self.database.write(lambda c: item_ops.postpone(c, item_id, worker, until, reason, moment))

    def release_item(self, item_id: int, worker: str, *, now: datetime | None = None) -> WorkItem:
        """Hand a leased item back as new at once, without counting the attempt (e.g. on shutdown)."""
        moment = checks.resolve_now(now)
        return self.database.write(lambda c: item_ops.release(c, item_id, worker, moment))

    def requeue_item(self, item_id: int, by: str, *, note: str | None = None,
                     now: datetime | None = None) -> WorkItem:
        """Send a failed item back to new with fresh attempts (a person's decision, recorded with `by`)."""
        by, moment = checks.text("by", by, 255), checks.resolve_now(now)
        note = None if note is None else checks.text("note", note, 2000)
        return self.database.write(lambda c: item_ops.requeue(c, item_id, by, note, moment))

    def reap_expired(self, *, now: datetime | None = None) -> ReapResult:
        """Hand back rows whose lease expired (recorded as abandoned) and fail items past their deadline."""
        moment = checks.resolve_now(now)
        return self.database.write(lambda c: _merged(item_ops.reap(c, moment), run_ops.reap(c, moment)))

    def abandon_leases(self, workers: Iterable[str], *, reason: str = "its worker was stopped",
                       now: datetime | None = None) -> ReapResult:
        """Hand back at once every row leased by `workers` (known dead), recorded as abandoned with `reason`."""
        names, moment = [_worker(worker) for worker in workers], checks.resolve_now(now)
        reason = checks.text("reason", reason, 1000)
        if not names:
            return ReapResult()
        return self.database.write(lambda c: _merged(item_ops.abandon_leases(c, names, reason, moment),
                                                     run_ops.abandon_leases(c, names, reason, moment)))

    def counts(self, queue_name: str) -> dict[str, int]:
        """Return how many items of the queue are in each state (every state, zeros included)."""
        return self.database.read(lambda c: item_ops.counts(c, queue_name))

    def claimable(self, queue_name: str, *, now: datetime | None = None) -> int:
        """How many new items of the queue may be claimed now (their retry or postponement time passed)."""
        moment = checks.resolve_now(now)
        return self.database.read(lambda c: item_ops.claimable(c, queue_name, moment))

    def outcomes_of_run(self, run_id: str) -> dict[str, str]:
        """The state of each item last claimed by the run `run_id`, by reference."""
        return self.database.read(lambda c: item_ops.outcomes_of_run(c, run_id))

    def waiting_work(self) -> list[WaitingWork]:
        """Queues whose items wait (state new) while no run request is queued or running to take them."""
        return self.database.read(item_ops.waiting_work)

    def history(self, item_id: int) -> list[ItemEvent]:
        """Return every state change of a work item, oldest first."""
        return self.database.read(lambda c: item_ops.history(c, item_id))

    def get_item(self, item_id: int) -> WorkItem | None:
        """Return the work item with this id, None if there is none."""
        return self.database.read(lambda c: item_ops.get(c, item_id))

    def items(self, queue_name: str, state: str | None = None, *, limit: int | None = None) -> list[WorkItem]:
        """Return the queue's items (optionally in one state) in the order they were added."""
        return self.database.read(lambda c: item_ops.listed(c, queue_name, state, limit))

    def close(self) -> None:
        """Release connections. The queue cannot be used afterwards."""
        self.database.close()


def _merged(items: ReapResult, runs: ReapResult) -> ReapResult:
    """The items' reap result with the runs' added."""
    items.runs_requeued, items.runs_crashed = runs.runs_requeued, runs.runs_crashed
    items.orphaned_runs, items.resumed = runs.orphaned_runs, runs.resumed
    return items


def _worker(worker: str) -> str:
    return checks.text("worker", worker, 255)


def _checked_item(item: NewItem) -> NewItem:
    if not isinstance(item, NewItem):
        raise ValueError(f"add_items takes NewItem objects, got {type(item).__name__}: wrap each row in NewItem(...).")
    checks.text("reference", item.reference, 255)
    return NewItem(reference=item.reference, data=item.data, priority=int(item.priority),
                   defer_until=checks.maybe_aware("defer_until", item.defer_until),
                   deadline=checks.maybe_aware("deadline", item.deadline))
