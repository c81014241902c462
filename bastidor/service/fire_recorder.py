"""Recording fires: each schedule fire becomes a queued, skipped or missed run request keyed `schedule@fire_time`
(so one fire time never yields two runs), many in one transaction, and is audited."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from typing import Any, Callable

from bastidor.queue.fires import NewFire, RecordedFire
from bastidor.schedule import Schedule, fire_key
from bastidor.schedule.backlog import COALESCED, MISSED, Fire
from bastidor.schedule.policy import overlap_refusal
from bastidor.service.pauses import Pause, SchedulePauses, pauses_beside

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The current time in UTC."""
    return dt.datetime.now(dt.timezone.utc)


class FireRecorder:
    """Turns schedule fires into queued, skipped or missed run requests, many in one transaction, and audits them.

    `pauses` (default: the pause store in the queue's own file) is read at every batch, so a schedule
    paused from the console or the command line is honoured by a running service without a restart."""

    def __init__(self, queue: Any, audit: Any, clock: Clock = utc_now, pauses: SchedulePauses | None = None,
                 on_misfire: Callable[[Schedule, dt.datetime, str, str], None] | None = None):
        self.queue = queue
        self.on_misfire = on_misfire
        self.audit = audit
        self.clock = clock
        self.pauses = pauses if pauses is not None else pauses_beside(queue)
        self._lock = threading.Lock()

    def fire(self, schedule: Schedule, fire_time: dt.datetime) -> str:
        """Enqueue one run for `fire_time` unless the schedule is paused or the overlap policy says no
        (closed days never fire)."""
        return self.record([Fire(schedule, fire_time)])[0]

    def missed(self, schedule: Schedule, fire_time: dt.datetime) -> str:
        """Record a fire that was missed beyond the grace period: it does not run."""
        return self.record([Fire(schedule, fire_time, MISSED)])[0]

    def coalesced(self, schedule: Schedule, fire_time: dt.datetime, into: dt.datetime) -> str:
        """Record a fire that runs as part of a later one (missed fires within the grace run once)."""
        return self.record([Fire(schedule, fire_time, COALESCED, into)])[0]

    def record(self, fires: Sequence[Fire]) -> list[str]:
        """Record `fires` in order in one transaction, as `fire`, `missed` and `coalesced` would one by one;
        returns what each became: queued, skipped, missed, or duplicate (its key was already taken)."""
        with self._lock:
            paused = self.pauses.all() if self.pauses is not None else {}
            new = [_new_fire(fire, paused.get(fire.schedule.id)) for fire in fires]
            outcomes = self.queue.record_fires(new, check_overlap=overlap_refusal, now=self.clock())
            self._audit(outcomes)
            for fire, outcome in zip(fires, outcomes):
                self._alert(fire, outcome)
        return [outcome.state for outcome in outcomes]

    def _audit(self, outcomes: list[RecordedFire]) -> None:
        """One record per batch (`schedule.fires`); `schedule.fired` when the batch recorded a single fire."""
        recorded = [outcome for outcome in outcomes if outcome.state != "duplicate"]
        if len(recorded) == 1:
            fire = recorded[0].fire
            self.audit.event("schedule.fired", schedule_id=fire.schedule_id, fire_time=fire.fire_time,
                             key=fire.key, state=recorded[0].state, reason=recorded[0].reason)
        elif recorded:
            self.audit.event("schedule.fires", count=len(recorded), **_keys_by_state(recorded))

    def _alert(self, fire: Fire, outcome: RecordedFire) -> None:
        """Tell `on_misfire` about a fire that started no run because it was missed or the overlap policy
        refused it (not about a paused, coalesced or repeated one)."""
        refused = outcome.state == "skipped" and outcome.fire.overlap is not None
        if self.on_misfire is None or not (outcome.state == "missed" or refused):
            return
        try:
            self.on_misfire(fire.schedule, fire.fire_time, outcome.state, outcome.reason or "")
        except Exception as error:  # an alert problem never stops the recording of fires
            self.audit.event("schedule.alert_failed", schedule_id=fire.schedule.id, fire_time=fire.fire_time,
                             error=f"{type(error).__name__}: {error}")


def _new_fire(fire: Fire, pause: Pause | None) -> NewFire:
    """The run request a fire asks for: missed and coalesced fires as such, a paused schedule's fire as
    skipped, any other fire queued (after its overlap check unless the policy is `allow`)."""
    schedule, state, reason, overlap = fire.schedule, "queued", None, None
    if fire.kind == MISSED:
        state, reason = "missed", f"missed by more than the misfire grace ({schedule.misfire_grace_s:g} s)"
    elif fire.kind == COALESCED:
        state, reason = "skipped", f"coalesced into {fire_key(schedule.id, fire.into)}"
    elif pause is not None:
        state, reason = "skipped", pause.reason
    elif str(schedule.overlap) != "allow":
        overlap = str(schedule.overlap)
    return NewFire(key=fire_key(schedule.id, fire.fire_time), flow_path=str(schedule.flow_path),
                   schedule_id=schedule.id, fire_time=fire.fire_time, inputs=schedule.inputs, state=state,
                   reason=reason, overlap=overlap, priority=schedule.priority, timeout_s=schedule.timeout_s)


def _keys_by_state(recorded: list[RecordedFire]) -> dict[str, Any]:
    """A batch's keys for its audit record: `queued` as a list, `skipped` and `missed` as lists by reason."""
    grouped: dict[str, Any] = {}
    for outcome in recorded:
        if outcome.state == "queued":
            grouped.setdefault("queued", []).append(outcome.fire.key)
        else:
            grouped.setdefault(outcome.state, {}).setdefault(outcome.reason, []).append(outcome.fire.key)
    return grouped
