"""The work queue interface. Every backend (SQLite embedded, PostgreSQL shared by many machines) implements
`WorkQueue`, and the same contract tests (tests/test_work_queue_*.py) run against each one.

A worker claims a run request or a work item with a lease of ``lease_s`` seconds, renews it with a
heartbeat, and ends it with exactly one outcome. A worker that stops heartbeating loses the lease:
`reap_expired` (which every claim runs first) records the row as abandoned and hands it back. The
old owner then gets `LeaseLost` from every call that would change the row, so an outcome is never
recorded twice. Worker names must be unique per process: use `new_worker_name`.

Every method that reads the clock takes ``now`` (a timezone-aware datetime; default: the current UTC
time) so tests and simulations can drive it; pure reads do not need one.
"""

from __future__ import annotations

import os
import secrets
import socket
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bastidor.queue.records import (AddResult, ItemEvent, NewItem, ReapResult, RunEvent, RunRequest, WaitingWork,
                                    WorkItem)

if TYPE_CHECKING:  # fires.py builds on the rows, which need this module's errors
    from bastidor.queue.fires import NewFire, OverlapCheck, RecordedFire


class QueueError(RuntimeError):
    """The work queue refused an operation; the message says what is wrong and how to fix it."""


class LeaseLost(QueueError):
    """The worker no longer holds the lease on the row: it expired and the row was handed back."""


class NotFound(QueueError):
    """No work item or run request has the given id."""


class OutcomeUnknown(QueueError):
    """The connection was lost while a change was being committed and the database could not be asked again
    in time: the change may or may not be recorded. An outcome (complete, fail, finish...) repeated with the
    same ``now`` is recognised as done if it was."""


def new_worker_name(prefix: str = "bot") -> str:
    """Return a worker name unique to this process, e.g. ``bot@host:4242:9f3a1c``."""
    return f"{prefix}@{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class WorkQueue(ABC):
    """Run requests and work items with leases, heartbeats and a full state history."""

    # Run requests -------------------------------------------------------------------------------

    @abstractmethod
    def enqueue_run(self, key: str, flow_path: str, inputs: dict[str, Any], *, requested_by: str,
                    schedule_id: str | None = None, fire_time: datetime | None = None, priority: int = 0,
                    not_before: datetime | None = None, timeout_s: float | None = None, max_attempts: int = 3,
                    state: str = "queued", reason: str | None = None, now: datetime | None = None) -> bool:
        """Record a run request; False if `key` exists (a key never yields two runs).

        ``state="missed"`` or ``"skipped"`` records a fire that will not run; `reason` says why and is kept
        in the request's ``error`` and its history. A request whose lease expires is retried until it has
        had `max_attempts` attempts, then ends ``crashed``."""

    @abstractmethod
    def claim_run(self, worker: str, lease_s: float, *, now: datetime | None = None) -> RunRequest | None:
        """Lease the queued request with the highest priority, then the oldest, whose not_before passed."""

    @abstractmethod
    def heartbeat_run(self, request_id: int, worker: str, lease_s: float, *, now: datetime | None = None) -> bool:
        """Extend the lease to now + `lease_s`; False if `worker` no longer holds it."""

    @abstractmethod
    def finish_run(self, request_id: int, worker: str, state: str, *, run_id: str | None = None,
                   error: str | None = None, now: datetime | None = None) -> RunRequest:
        """End a leased request as done, failed, crashed or interrupted; `LeaseLost` if the lease was lost.
        Items its run left waiting in its queue, with no other request to take them, get a resume request."""

    @abstractmethod
    def attach_run(self, request_id: int, worker: str, run_id: str) -> RunRequest:
        """Record the run id a worker started for its leased request; `LeaseLost` if it lost the lease."""

    @abstractmethod
    def bind_queue(self, request_id: int, worker: str, queue_name: str) -> RunRequest:
        """Record the work-item queue the leased request's run takes items from (so that items it leaves
        are resumed when the request ends); `LeaseLost` if it lost the lease."""

    @abstractmethod
    def release_run(self, request_id: int, worker: str, *, now: datetime | None = None) -> RunRequest:
        """Hand a leased request back to the queue without counting the attempt (e.g. on shutdown)."""

    @abstractmethod
    def record_fires(self, fires: Sequence[NewFire], *, check_overlap: OverlapCheck,
                     now: datetime | None = None) -> list[RecordedFire]:
        """Record many schedule fires as run requests in one transaction, in order; what became of each.

        The rows are those `enqueue_run` would give fire by fire (a taken key is a ``duplicate``). A queued
        fire with an overlap policy is first checked with ``check_overlap(policy, running, queued)``, counting
        the fires this batch queued before it; a reason returned records it as skipped with that reason."""

    @abstractmethod
    def count_runs(self, schedule_id: str, states: Iterable[str]) -> int:
        """Count a schedule's requests in `states` (for overlap policies)."""

    @abstractmethod
    def list_runs(self, *, schedule_id: str | None = None, states: Iterable[str] | None = None,
                  limit: int = 100) -> list[RunRequest]:
        """Return up to `limit` requests, newest first, optionally of one schedule and some states."""

    @abstractmethod
    def get_run(self, request_id: int) -> RunRequest | None:
        """Return the run request with this id, None if there is none."""

    @abstractmethod
    def run_history(self, request_id: int) -> list[RunEvent]:
        """Return every state change of a run request, oldest first."""

    @abstractmethod
    def last_fire_time(self, schedule_id: str) -> datetime | None:
        """Return the latest fire time recorded for the schedule in any state, None if it never fired."""

    # Work items ---------------------------------------------------------------------------------

    @abstractmethod
    def add_items(self, queue_name: str, items: Sequence[NewItem], *, max_attempts: int = 3,
                  now: datetime | None = None) -> AddResult:
        """Add new items; a reference already in the queue is reported, never added twice."""

    @abstractmethod
    def claim_item(self, queue_name: str, worker: str, lease_s: float, *, run_id: str | None = None,
                   now: datetime | None = None) -> WorkItem | None:
        """Lease the new item with the highest priority, then the oldest, whose defer_until passed."""

    @abstractmethod
    def heartbeat_item(self, item_id: int, worker: str, lease_s: float, *, now: datetime | None = None) -> bool:
        """Extend the lease to now + `lease_s`; False if `worker` no longer holds it."""

    @abstractmethod
    def complete_item(self, item_id: int, worker: str, output: Any = None, *,
                      now: datetime | None = None) -> WorkItem:
        """Mark a leased item successful with its `output`; `LeaseLost` if the lease was lost."""

    @abstractmethod
    def fail_item(self, item_id: int, worker: str, reason: str, *, business: bool,
                  retry_in_s: float | None = None, now: datetime | None = None) -> WorkItem:
        """Fail a leased item. Business: failed for good. Application: back to new after `retry_in_s`
        (default: the queue's backoff) while attempts remain, else failed."""

    @abstractmethod
    def postpone_item(self, item_id: int, worker: str, until: datetime, *, reason: str | None = None,
                      now: datetime | None = None) -> WorkItem:
        """Hand a leased item back as new, not to be claimed before `until`; the attempt is not counted."""

    @abstractmethod
    def release_item(self, item_id: int, worker: str, *, now: datetime | None = None) -> WorkItem:
        """Hand a leased item back as new at once, without counting the attempt (e.g. on shutdown)."""

    @abstractmethod
    def requeue_item(self, item_id: int, by: str, *, note: str | None = None,
                     now: datetime | None = None) -> WorkItem:
        """Send a failed item back to new with fresh attempts (a person's decision, recorded with `by`);
        `QueueError` if the item is not failed."""

    @abstractmethod
    def reap_expired(self, *, now: datetime | None = None) -> ReapResult:
        """Hand back rows whose lease expired (recorded as abandoned) and fail items past their deadline."""

    @abstractmethod
    def abandon_leases(self, workers: Iterable[str], *, reason: str = "its worker was stopped",
                       now: datetime | None = None) -> ReapResult:
        """Hand back at once every row leased by `workers` (known dead, e.g. killed after a drain timeout),
        recorded as abandoned with `reason` and the attempt counted, as the reaper would after the lease."""

    @abstractmethod
    def counts(self, queue_name: str) -> dict[str, int]:
        """Return how many items of the queue are in each state (every state, zeros included)."""

    @abstractmethod
    def claimable(self, queue_name: str, *, now: datetime | None = None) -> int:
        """How many new items of the queue may be claimed now (their retry or postponement time passed)."""

    @abstractmethod
    def outcomes_of_run(self, run_id: str) -> dict[str, str]:
        """The state of each item last claimed by the run `run_id`, by reference."""

    @abstractmethod
    def waiting_work(self) -> list[WaitingWork]:
        """Queues whose items wait (state new) while no run request is queued or running to take them."""

    @abstractmethod
    def history(self, item_id: int) -> list[ItemEvent]:
        """Return every state change of a work item, oldest first."""

    @abstractmethod
    def get_item(self, item_id: int) -> WorkItem | None:
        """Return the work item with this id, None if there is none."""

    @abstractmethod
    def items(self, queue_name: str, state: str | None = None, *, limit: int | None = None) -> list[WorkItem]:
        """Return the queue's items (optionally in one state) in the order they were added."""

    # Lifetime -----------------------------------------------------------------------------------

    @abstractmethod
    def close(self) -> None:
        """Release connections. The queue cannot be used afterwards."""

    def __enter__(self) -> WorkQueue:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
