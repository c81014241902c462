"""What a person can do with a business exception: assign it, resolve it with a note, send it back for a
retry, or mark it done. Each action checks the case's state, changes it and records who did what, in one
transaction; a case changed by someone else in between is refused rather than overwritten.

Sending back an item that came through the work queue requeues it there (`WorkQueue.requeue_item`, with
the person's name in the queue's history), inside the case's transaction: a case someone else changed
first is never requeued, and a refused requeue leaves the case as it was. Any other item is tried again
on its flow's next run.

The caller records the action in the console's audit log by passing ``audit=``: it is called with the
outcome inside the transaction, before it commits, so an action whose record cannot be written is undone
(a requeue already made stays, with the person's name in the queue's history).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import Engine, insert, select, update

from bastidor.console.data.exceptions import STATE_LABELS, WAITING_STATES, Case, cases, ensure_tables, events
from bastidor.console.data.item_timeline import find_queue_item
from bastidor.queue import QueueError, WorkItem, WorkQueue

MAX_NOTE = 2000
MAX_NAME = 255
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "assign": (WAITING_STATES, "assigned"),
    "resolve": (WAITING_STATES, "resolved"),
    "retry": (WAITING_STATES, "retry"),
    "done": (("open", "assigned", "resolved", "retry"), "done"),
}
"""Each action: the states it may start from, and the state it leads to."""


class ActionRefused(ValueError):
    """The action cannot be done; the message tells the person why and what to do instead."""


@dataclass(frozen=True)
class ActionOutcome:
    """What an action did: the case as it is now, and a sentence for the person who asked."""

    case: Case
    message: str
    queue_item_id: int | None = None


Recorder = Callable[[ActionOutcome], object]
"""Records an outcome in the audit log (raising when it cannot); run before the action's transaction commits."""


def assign(db: Engine, run_id: str, item_ref: str, *, by: str, assignee: str, note: str = "",
           now: datetime | None = None, audit: Recorder | None = None) -> ActionOutcome:
    """Give the case to `assignee` (the person themselves or another user)."""
    assignee = _checked_name(assignee)
    message = f"{item_ref} is assigned to {assignee}."
    case = _change(db, "assign", run_id, item_ref, by, {"assignee": assignee}, _checked_note(note), now,
                   then=_recording(audit, message))
    return ActionOutcome(case, message)


def resolve(db: Engine, run_id: str, item_ref: str, *, by: str, note: str,
            now: datetime | None = None, audit: Recorder | None = None) -> ActionOutcome:
    """Record that a person handled the exception, with a note saying how (required)."""
    note = _checked_note(note)
    if not note:
        raise ActionRefused("Write a note saying how the exception was resolved; it is kept with the case.")
    message = f"{item_ref} is resolved."
    case = _change(db, "resolve", run_id, item_ref, by, {}, note, now, then=_recording(audit, message))
    return ActionOutcome(case, message)


def mark_done(db: Engine, run_id: str, item_ref: str, *, by: str, note: str = "",
              now: datetime | None = None, audit: Recorder | None = None) -> ActionOutcome:
    """Close the case: nothing more is to be done about it."""
    message = f"{item_ref} is done."
    case = _change(db, "done", run_id, item_ref, by, {}, _checked_note(note), now, then=_recording(audit, message))
    return ActionOutcome(case, message)


def send_back(db: Engine, queue: WorkQueue | None, run_id: str, item_ref: str, *, by: str, note: str = "",
              now: datetime | None = None, audit: Recorder | None = None) -> ActionOutcome:
    """Send the item back for a retry: requeued in the work queue if it came through it, else on the next run."""
    note = _checked_note(note)
    case = _current(db, run_id, item_ref)
    _check_state(case, "retry")
    queued = find_queue_item(queue, case.flow_name, item_ref) if queue is not None else None
    if queued is None:
        text = "it will be tried again the next time the flow runs with this row in its input"
        message = f"{item_ref} did not come through the work queue: {text}."
        changed = _change(db, "retry", run_id, item_ref, by, {}, _joined(note, f"({text})"), now,
                          then=_recording(audit, message))
        return ActionOutcome(changed, message)
    return _requeue(db, queue, queued, run_id, item_ref, by=by, note=note, now=now, audit=audit)


def _requeue(db: Engine, queue: WorkQueue, queued: WorkItem, run_id: str, item_ref: str, *, by: str, note: str,
             now: datetime | None, audit: Recorder | None) -> ActionOutcome:
    """Requeue a failed work item inside the case's transaction: if the queue refuses, the case stays as it was."""
    if queued.state != "failed":
        raise ActionRefused(f"The work item {item_ref} is {queued.state.replace('_', ' ')} in the work queue, not "
                            "failed: it needs no retry. Mark the exception done when it has gone through.")
    message = f"{item_ref} is back in the work queue; a bot will pick it up on the next run."

    def requeue_then_record(changed: Case) -> None:
        """Requeue the work item (refused: the case change is undone), then record the outcome."""
        try:
            queue.requeue_item(queued.id, by=_checked_name(by), note=note or None)
        except QueueError as error:
            raise ActionRefused(f"The work queue did not take {item_ref} back: {error}") from error
        if audit is not None:
            audit(ActionOutcome(changed, message, queued.id))

    changed = _change(db, "retry", run_id, item_ref, by, {}, _joined(note, f"(requeued: work item {queued.id})"), now,
                      then=requeue_then_record)
    return ActionOutcome(changed, message, queued.id)


def _recording(audit: Recorder | None, message: str) -> Callable[[Case], None] | None:
    """The step that records an action's outcome inside its transaction (None when nothing is recorded)."""
    if audit is None:
        return None
    return lambda changed: audit(ActionOutcome(changed, message))


def _change(db: Engine, action: str, run_id: str, item_ref: str, by: str, changes: dict[str, Any], note: str,
            now: datetime | None, then: Callable[[Case], None] | None = None) -> Case:
    """Move the case to the action's state and record the event, refusing if its state changed meanwhile.

    `then` runs with the changed case before the transaction commits; if it raises, nothing changes."""
    ensure_tables(db)
    moment, note, by = now or datetime.now(timezone.utc), note.strip(), _checked_name(by)
    target = ACTIONS[action][1]
    with db.begin() as connection:
        case = _fetch(connection, run_id, item_ref)
        _check_state(case, action)
        values = {"state": target, "updated_at": moment, "updated_by": by, **changes}
        if note:
            values["note"] = note
        key = (cases.c.run_id == run_id, cases.c.item_ref == item_ref, cases.c.state == case.state)
        if connection.execute(update(cases).where(*key).values(**values)).rowcount != 1:
            raise ActionRefused(f"Someone changed {item_ref} at the same moment; reload the page and try again.")
        connection.execute(insert(events).values(
            run_id=run_id, item_ref=item_ref, at=moment, user=by, action=action, from_state=case.state,
            to_state=target, assignee=values.get("assignee", case.assignee), note=note or None))
        changed = _fetch(connection, run_id, item_ref)
        if then is not None:
            then(changed)
        return changed


def _current(db: Engine, run_id: str, item_ref: str) -> Case:
    ensure_tables(db)
    with db.connect() as connection:
        return _fetch(connection, run_id, item_ref)


def _fetch(connection: Any, run_id: str, item_ref: str) -> Case:
    row = connection.execute(select(cases).where(cases.c.run_id == run_id, cases.c.item_ref == item_ref)
                             ).mappings().first()
    if row is None:
        raise ActionRefused(f"There is no exception for item {item_ref} of run {run_id}; pick one from the "
                            "Exceptions list.")
    return Case(**row)


def _check_state(case: Case, action: str) -> None:
    allowed = ACTIONS[action][0]
    if case.state not in allowed:
        can = " or ".join(STATE_LABELS[state].lower() for state in allowed)
        raise ActionRefused(f"{case.item_ref} is {case.state_label.lower()}; only an exception that is {can} can "
                            f"be {_PAST[action]}.")


_PAST = {"assign": "assigned", "resolve": "resolved", "retry": "sent back for a retry", "done": "marked done"}


def _checked_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ActionRefused(f"The note has {len(note)} characters; keep it under {MAX_NOTE}.")
    return note


def _checked_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ActionRefused("Say who should handle the exception: your own name or another user's.")
    if len(name) > MAX_NAME:
        raise ActionRefused(f"A user name has at most {MAX_NAME} characters.")
    return name


def _joined(note: str, addition: str) -> str:
    return f"{note.strip()} {addition}".strip()
