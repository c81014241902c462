"""An item's whole story: every attempt at one reference of one flow, across runs, with each attempt's steps,
the input row beside the values the bot submitted, and the item's history in the work queue.

Attempts come from the run store (items with the same reference and flow); each run's steps for the item
come from the store and are split into the run's attempts with the run's audit log, which also gives the
submitted values. Everything read here was masked when it was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bastidor.console.data.item_audit import AuditAttempt, SubmittedValue, read_item_attempts
from bastidor.console.data.items import store_engine
from bastidor.queue import ItemEvent, WorkItem, WorkQueue
from bastidor.queue.schema import work_items
from bastidor.store import RunStore, StepRecord
from bastidor.store.schema import items, runs, steps

MAX_RUNS_SHOWN = 20


@dataclass
class AttemptView:
    """One attempt at the item: in which run, how it ended, its input row, what it submitted, and its steps."""

    number: int
    run_id: str
    run_status: str
    status: str
    exception: str | None
    reason: str | None
    started_at: datetime | None
    ended_at: datetime | None
    data: dict[str, Any]
    steps: list[StepRecord]
    submitted: list[SubmittedValue] = field(default_factory=list)
    log_readable: bool = True


@dataclass
class ItemTimeline:
    """Every attempt at `item_ref` in flow `flow_name` (oldest first), and its work-queue history if any."""

    flow_name: str
    item_ref: str
    run_id: str
    attempts: list[AttemptView]
    earlier_runs_hidden: int = 0
    queue_item: WorkItem | None = None
    queue_events: list[ItemEvent] = field(default_factory=list)

    @property
    def latest(self) -> AttemptView | None:
        """The most recent attempt."""
        return self.attempts[-1] if self.attempts else None


def item_timeline(store: RunStore, queue: WorkQueue | None, run_id: str, item_ref: str) -> ItemTimeline | None:
    """The timeline of the item `item_ref` of run `run_id` (every attempt of its flow); None if unknown."""
    with store_engine(store).connect() as connection:
        flow_name = connection.execute(
            select(runs.c.flow_name).select_from(items.join(runs, items.c.run_id == runs.c.run_id))
            .where(items.c.run_id == run_id, items.c.item_ref == item_ref)).scalar()
        if flow_name is None:
            return None
        records = [dict(row) for row in connection.execute(_same_item(flow_name, item_ref)).mappings()]
    shown = _latest_runs(records, run_id)
    attempts = [view for record in shown for view in _attempts_of_run(store, record)]
    timeline = ItemTimeline(flow_name=flow_name, item_ref=item_ref, run_id=run_id, attempts=attempts,
                            earlier_runs_hidden=len(records) - len(shown))
    if queue is not None:
        timeline.queue_item = find_queue_item(queue, flow_name, item_ref)
        if timeline.queue_item is not None:
            timeline.queue_events = queue.history(timeline.queue_item.id)
    return timeline


def find_queue_item(queue: WorkQueue, queue_name: str, reference: str) -> WorkItem | None:
    """The work item with this reference in the queue named after the flow, None if it never went through it."""
    database = getattr(queue, "database", None)
    if database is None or not hasattr(database, "read"):
        return next((item for item in queue.items(queue_name) if item.reference == reference), None)
    query = select(work_items.c.id).where(work_items.c.queue_name == queue_name, work_items.c.reference == reference)
    item_id = database.read(lambda connection: connection.execute(query).scalar())
    return None if item_id is None else queue.get_item(item_id)


def _latest_runs(records: list[dict[str, Any]], run_id: str) -> list[dict[str, Any]]:
    """The item's latest `MAX_RUNS_SHOWN` runs, oldest first, always with the run the person opened."""
    shown = records[-MAX_RUNS_SHOWN:]
    if all(record["run_id"] != run_id for record in shown):
        shown = [record for record in records if record["run_id"] == run_id] + shown[1:]
    return shown


def _same_item(flow_name: str, item_ref: str) -> Any:
    return (select(items, runs.c.status.label("run_status"), runs.c.audit_path)
            .select_from(items.join(runs, items.c.run_id == runs.c.run_id))
            .where(items.c.item_ref == item_ref, runs.c.flow_name == flow_name)
            .order_by(items.c.started_at, items.c.run_id))


def _attempts_of_run(store: RunStore, record: dict[str, Any]) -> list[AttemptView]:
    """The item's attempts in one run: one per audit ``item.started``, the last one as the store has it."""
    run_steps = _item_steps(store, record["run_id"], record["item_ref"])
    logged = read_item_attempts(record["audit_path"], record["item_ref"])
    if not logged or sum(len(attempt.steps) for attempt in logged) != len(run_steps):
        every_step = [step for attempt in logged or [] for step in attempt.steps]
        final = _view(record, run_steps, AuditAttempt(attempt=record["attempts"], steps=every_step), last=True)
        final.log_readable = logged is not None
        return [final]
    views, start = [], 0
    for index, attempt in enumerate(logged):
        chunk = run_steps[start:start + len(attempt.steps)]
        start += len(attempt.steps)
        views.append(_view(record, chunk, attempt, last=index == len(logged) - 1))
    return views


def _view(record: dict[str, Any], step_records: list[StepRecord], logged: AuditAttempt, last: bool) -> AttemptView:
    """An attempt: the store's outcome for the run's last attempt, the audit log's for earlier ones."""
    return AttemptView(
        number=logged.attempt, run_id=record["run_id"], run_status=record["run_status"],
        status=record["status"] if last else (logged.status or "failed"),
        exception=record["exception"] if last else logged.exception,
        reason=record["reason"] if last else logged.reason,
        started_at=record["started_at"] if last else _parse_ts(logged.started_at),
        ended_at=record["ended_at"] if last else _parse_ts(logged.ended_at), data=dict(record["data"] or {}),
        steps=step_records, submitted=logged.submitted)


def _item_steps(store: RunStore, run_id: str, item_ref: str) -> list[StepRecord]:
    query = select(steps).where(steps.c.run_id == run_id, steps.c.item_ref == item_ref).order_by(steps.c.seq)
    with store_engine(store).connect() as connection:
        return [StepRecord(**row) for row in connection.execute(query).mappings()]


def _parse_ts(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None
