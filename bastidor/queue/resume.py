"""The queue owns its work: when a run request ends and its run left items waiting in its work queue, with
no other request queued or running to take them, a resume request is enqueued in the same transaction.

- A request that ended done or failed with items still waiting (retries deferred past the run's patience,
  postponed items) is resumed when the earliest of them falls due.
- A crashed request (its bots died, attempts used up) is resumed at once: the items keep their history and
  attempts, so a poison item still fails after its own `max_attempts`.
- A resume whose run finished no item counts as idle; idle resumes wait longer each time (30 s, 1 min,
  2 min ...) and stop after `MAX_IDLE_RESUMES`, leaving the items visible as waiting (`runs list`,
  `items list`) rather than retrying a broken flow for ever.
- An interrupted request is not resumed here: a drained run's request goes back to the queue itself, and a
  run stopped by its schedule's time limit leaves the rest to the schedule's next fire.

On PostgreSQL two requests of one queue may end at the same moment on two machines; each would see the
other still running (its change not committed yet) and leave the items to it. The decision is therefore
taken under the queue's advisory lock (`bastidor.queue.locks`): the second to end waits for the first to
commit and then sees it ended.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from bastidor.queue import rows
from bastidor.queue.locks import serialise
from bastidor.queue.records import RunRequest
from bastidor.queue.rows import RUN
from bastidor.queue.schema import run_requests, work_items
from bastidor.store.schema import UtcDateTime

RESUMED_STATES = ("done", "failed", "crashed")
ACTIVE_STATES = ("queued", "running")
FIRST_IDLE_WAIT_S = 30.0
MAX_IDLE_WAIT_S = 3600.0
MAX_IDLE_RESUMES = 6
FINAL_ITEM_STATES = ("successful", "failed")


def resume_if_work_is_left(connection: Connection, request: RunRequest, now: datetime) -> int | None:
    """Enqueue a resume request for `request`'s work queue when items wait there and nothing will take
    them; returns its id, or None when none is needed (or the idle limit was reached)."""
    queue_name = request.queue_name
    if queue_name is None or request.state not in RESUMED_STATES:
        return None
    serialise(connection, "queue", [queue_name])  # the next finisher of this queue sees this one's outcome
    if _has_taker(connection, request):
        return None
    waiting, earliest = _waiting(connection, queue_name)
    if not waiting:
        return None
    idle = 0 if _made_progress(connection, queue_name, request) else (request.idle_resumes or 0) + 1
    if idle > MAX_IDLE_RESUMES:
        _note_stranded(connection, request, waiting, now)
        return None
    not_before = max(now + timedelta(seconds=_idle_wait_s(idle)), earliest or now)
    return _enqueue(connection, request, idle, not_before, waiting, now)


def _has_taker(connection: Connection, request: RunRequest) -> bool:
    """Another request that is queued or running will take the queue's items (same queue, or same flow
    file when that request's run has not reached its item loop yet)."""
    same_work = or_(run_requests.c.queue_name == request.queue_name,
                    and_(run_requests.c.queue_name.is_(None), run_requests.c.flow_path == request.flow_path))
    query = select(run_requests.c.id).where(run_requests.c.id != request.id, same_work,
                                            run_requests.c.state.in_(ACTIVE_STATES)).limit(1)
    return connection.execute(query).first() is not None


def _waiting(connection: Connection, queue_name: str) -> tuple[int, datetime | None]:
    """How many items wait in the queue (state new), and the earliest moment one of them may be taken."""
    due = func.min(func.coalesce(work_items.c.defer_until, work_items.c.created_at), type_=UtcDateTime)
    query = select(func.count(), due).where(work_items.c.queue_name == queue_name, work_items.c.state == "new")
    count, earliest = connection.execute(query).one()
    return count, earliest


def _made_progress(connection: Connection, queue_name: str, request: RunRequest) -> bool:
    """Whether any item of the queue reached a final state since `request` was enqueued."""
    query = select(work_items.c.id).where(
        work_items.c.queue_name == queue_name, work_items.c.state.in_(FINAL_ITEM_STATES),
        work_items.c.updated_at >= request.enqueued_at).limit(1)
    return connection.execute(query).first() is not None


def _idle_wait_s(idle: int) -> float:
    return 0.0 if idle == 0 else min(MAX_IDLE_WAIT_S, FIRST_IDLE_WAIT_S * 2 ** (idle - 1))


def _enqueue(connection: Connection, request: RunRequest, idle: int, not_before: datetime, waiting: int,
             now: datetime) -> int | None:
    from bastidor.queue import run_ops

    values: dict[str, Any] = {
        "key": f"resume:{request.id}", "flow_path": request.flow_path, "inputs": request.inputs,
        "state": "queued", "priority": request.priority, "max_attempts": request.max_attempts,
        "requested_by": f"work queue ({waiting} items left by request {request.id})",
        "schedule_id": request.schedule_id, "fire_time": None, "not_before": not_before,
        "timeout_s": request.timeout_s, "queue_name": request.queue_name, "idle_resumes": idle}
    reason = f"resumes the {waiting} items request {request.id} ({request.state}) left in {request.queue_name}"
    return run_ops.enqueue(connection, values, reason, now)


def _note_stranded(connection: Connection, request: RunRequest, waiting: int, now: datetime) -> None:
    note = (f"{waiting} items wait in {request.queue_name}, but {MAX_IDLE_RESUMES} resumes in a row finished "
            "none, so the queue stopped resuming them: fix the cause, then run the flow again")
    rows.record_event(connection, RUN, request.id, now, request.state, request.state, request.attempts, None, note)
