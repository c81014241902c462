"""What the work queue keeps: run requests, work items, and the event history of both.

Times are timezone-aware UTC datetimes. ``inputs``, ``data`` and ``output`` are plain JSON values that
the caller has already masked; the queue never sees a secret value.

Run requests: ``queued -> running -> done | failed | crashed | interrupted``; ``missed`` and ``skipped``
record a fire that never runs. A request whose run leaves items in its queue with no other request to take
them is followed by a resume request (see `bastidor.queue.resume`). Work items: ``new -> in_progress -> successful | failed``. A lease that expires
is recorded as ``abandoned`` in the history, then the row goes back to ``queued`` / ``new`` (or, with
its attempts used up, to ``crashed`` / ``failed``): ``abandoned`` is never a resting state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

RunState = Literal["queued", "running", "done", "failed", "crashed", "interrupted", "missed", "skipped",
                   "abandoned"]
ItemState = Literal["new", "in_progress", "successful", "failed", "abandoned"]
ExceptionKind = Literal["business", "application"]
"""``business``: the data or a rule is at fault, never retried. ``application``: the system is, retried."""

RUN_STATES: tuple[str, ...] = ("queued", "running", "done", "failed", "crashed", "interrupted", "missed", "skipped")
RUN_ENQUEUE_STATES: tuple[str, ...] = ("queued", "missed", "skipped")
RUN_FINISH_STATES: tuple[str, ...] = ("done", "failed", "crashed", "interrupted")
ITEM_STATES: tuple[str, ...] = ("new", "in_progress", "successful", "failed")
ABANDONED = "abandoned"


@dataclass(frozen=True)
class NewItem:
    """An item to add to a queue; ``reference`` is unique within the queue, forever."""

    reference: str
    data: Any = field(default_factory=dict)
    priority: int = 0
    defer_until: datetime | None = None
    deadline: datetime | None = None


@dataclass
class WorkItem:
    """One unit of work (an order, a row) in a named queue, with its state, lease and outcome."""

    id: int
    queue_name: str
    reference: str
    data: Any
    state: str
    attempts: int
    """Claims so far, counting the current one; a release or a postpone does not count."""
    max_attempts: int
    priority: int
    created_at: datetime
    updated_at: datetime
    exception_kind: str | None = None
    defer_until: datetime | None = None
    deadline: datetime | None = None
    lease_owner: str | None = None
    lease_expires: datetime | None = None
    heartbeat_at: datetime | None = None
    reason: str | None = None
    output: Any = None
    run_id: str | None = None


@dataclass
class RunRequest:
    """A request to run one flow once: from a schedule's fire or by hand, keyed so it runs at most once."""

    id: int
    key: str
    flow_path: str
    inputs: dict[str, Any]
    state: str
    priority: int
    requested_by: str
    attempts: int
    max_attempts: int
    enqueued_at: datetime
    schedule_id: str | None = None
    fire_time: datetime | None = None
    not_before: datetime | None = None
    timeout_s: float | None = None
    lease_owner: str | None = None
    lease_expires: datetime | None = None
    heartbeat_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    run_id: str | None = None
    error: str | None = None
    queue_name: str | None = None
    """The work-item queue its run takes items from, once the run reached its `for_each_item`."""
    idle_resumes: int | None = None
    """For a resume request: how many resume requests in a row finished no item (0 after progress)."""


@dataclass(frozen=True)
class ItemEvent:
    """One state change of a work item: who moved it, from where to where, on which attempt, and why."""

    item_id: int
    at: datetime
    from_state: str | None
    to_state: str
    attempt: int
    worker: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class RunEvent:
    """One state change of a run request."""

    request_id: int
    at: datetime
    from_state: str | None
    to_state: str
    attempt: int
    worker: str | None = None
    reason: str | None = None


@dataclass
class AddResult:
    """What `add_items` did with each reference it was given."""

    added: list[str] = field(default_factory=list)
    already_processed: list[str] = field(default_factory=list)
    """The reference exists and succeeded: it is not processed again."""
    already_queued: list[str] = field(default_factory=list)
    """The reference exists and is new or in progress (or was repeated in the same call)."""
    previously_failed: list[str] = field(default_factory=list)
    """The reference exists and failed: it is not added again; a person decides what happens."""


@dataclass
class ReapResult:
    """What `reap_expired` did: rows whose lease expired, and items whose deadline passed."""

    items_requeued: list[int] = field(default_factory=list)
    items_failed: list[int] = field(default_factory=list)
    """Abandoned with their attempts used up, or past their deadline."""
    runs_requeued: list[int] = field(default_factory=list)
    runs_crashed: list[int] = field(default_factory=list)
    orphaned_runs: list[str] = field(default_factory=list)
    """The run ids the reaped requests' workers had started, read in the same transaction (so never the
    run of a worker that took the request again since): the service ends them in the run store."""
    resumed: list[int] = field(default_factory=list)
    """Ids of resume requests enqueued because a crashed request left items in its queue."""

    @property
    def total(self) -> int:
        """How many rows changed state."""
        return sum(map(len, (self.items_requeued, self.items_failed, self.runs_requeued, self.runs_crashed)))


@dataclass(frozen=True)
class WaitingWork:
    """Items waiting in a queue that no queued or running request will take (see `WorkQueue.waiting_work`)."""

    queue_name: str
    items: int
    earliest: datetime | None
    """When the first of them may be taken (its retry or postponement time)."""
