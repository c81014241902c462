"""Event fires: a file or a mail message that arrived becomes one queued run request, keyed by what arrived
(`schedule@sha256:<hash>` for a file, `schedule@mail:<hash>` for a message) so that it never starts two
runs, whichever service or restart sees it, and is audited in the service log like a clock fire.

Each arrival gets its own run: the overlap policy does not apply (a skipped file would be lost), and
a paused schedule takes nothing new until it is resumed (what arrives waits where it is).
"""

from __future__ import annotations

from typing import Any, Callable

from bastidor.queue.fires import NewFire
from bastidor.schedule import Schedule
from bastidor.schedule.policy import overlap_refusal

ACTIVE_STATES = ("queued", "running")
"""A request in one of these states has not ended: its run may still start, or is running."""


def request_by_key(queue: Any, key: str) -> Any:
    """The run request recorded under `key`, None when there is none."""
    from sqlalchemy import select

    from bastidor.queue.schema import run_requests

    query = select(run_requests.c.id).where(run_requests.c.key == key)
    request_id = queue.database.read(lambda connection: connection.execute(query).scalar())
    return queue.get_run(request_id) if request_id is not None else None


def attempts_of(queue: Any, key: str) -> list[Any]:
    """The requests recorded under `key` and its later attempts `key#2`, `key#3`, ..., first attempt first."""
    from sqlalchemy import or_, select

    from bastidor.queue.schema import run_requests

    query = select(run_requests.c.id, run_requests.c.key).where(
        or_(run_requests.c.key == key, run_requests.c.key.like(f"{key}#%")))
    rows = queue.database.read(lambda connection: connection.execute(query).all())
    found = [(attempt_number(row.key), row.id) for row in rows
             if row.key == key or (row.key.startswith(f"{key}#") and row.key[len(key) + 1:].isdigit())]
    return [queue.get_run(request_id) for _, request_id in sorted(found)]


def attempt_number(key: str) -> int:
    """1 for `schedule@sha256:<hash>`, n for `schedule@sha256:<hash>#n`."""
    base, _, number = key.rpartition("#")
    return int(number) if base and number.isdigit() else 1

def paused_ids(recorder: Any) -> set[str]:
    """The ids of the schedules paused now (from the console or `schedules pause`)."""
    return set(recorder.pauses.all()) if recorder.pauses is not None else set()


def record_event_fire(recorder: Any, schedule: Schedule, key: str, inputs: dict[str, Any], *, state: str = "queued",
                      reason: str | None = None, **detail: Any) -> str:
    """Queue a run of `schedule` with its inputs and `inputs` under `key` (or record it as ``skipped`` with
    `reason` when `state` says so), and audit it with `detail`; returns the state recorded, or ``duplicate``
    when `key` was recorded already (nothing new is recorded)."""
    now = recorder.clock()
    fire = NewFire(key=key, flow_path=str(schedule.flow_path), schedule_id=schedule.id, fire_time=now,
                   inputs={**schedule.inputs, **inputs}, priority=schedule.priority, timeout_s=schedule.timeout_s,
                   state=state, reason=reason)
    outcome = recorder.queue.record_fires([fire], check_overlap=overlap_refusal, now=now)[0]
    if outcome.state != "duplicate":
        recorder.audit.event("schedule.fired", schedule_id=schedule.id, fire_time=now, key=key,
                             state=outcome.state, reason=outcome.reason, trigger=schedule.trigger.kind, **detail)
    return outcome.state


class FaultNotes:
    """Says a watcher's fault (a folder gone, a mail server down, the queue out of reach) once per schedule and
    kind of fault, in the service's output and its audit log, not at every poll it lasts."""

    def __init__(self, recorder: Any, say: Callable[..., None], event: str):
        self.recorder = recorder
        self.say = say
        self.event = event
        self._last: dict[str, str] = {}

    def failed(self, schedule_id: str, line: str) -> None:
        """Say `line` about `schedule_id` unless it was the last thing said about it."""
        line = line[:500]
        if self._last.get(schedule_id) == line:
            return
        self._last[schedule_id] = line
        self.say(line, flush=True)
        try:
            self.recorder.audit.event(self.event, schedule_id=schedule_id, error=line)
        except Exception:  # noqa: BLE001 - the service's own log has its own fault handling
            pass

    def ok(self, schedule_id: str) -> None:
        """The schedule's round went well: a fault met again is said again."""
        self._last.pop(schedule_id, None)
