"""The scheduler: APScheduler 3.11 on an in-memory job store rebuilt from schedules.yaml.

It never runs a flow. A fire only enqueues a run request keyed `schedule@fire_time`, so one fire
time can never produce two runs, whichever scheduler (or restart) enqueues it. Fires missed while
no scheduler ran are caught up at start: the latest within the misfire grace runs once, older ones
are recorded as missed. The triggers skip closed business days; the overlap policy is applied here.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from typing import Any, Callable

from apscheduler.events import EVENT_JOB_MISSED, EVENT_JOB_SUBMITTED
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bastidor.schedule import (Schedule, ScheduleSet, decide_missed, decide_overlap, fire_key, fire_times_between,
                               nominal_fire_time)
from bastidor.service.pauses import SchedulePauses, pauses_beside

Clock = Callable[[], dt.datetime]
CATCH_UP_WINDOW = dt.timedelta(days=7)


def utc_now() -> dt.datetime:
    """The current time in UTC."""
    return dt.datetime.now(dt.timezone.utc)


class FireRecorder:
    """Turns a schedule's fire into a queued, skipped or missed run request, and audits it.

    `pauses` (default: the pause store in the queue's own file) is read at every fire, so a schedule
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
        with self._lock:
            pause = self.pauses.get(schedule.id) if self.pauses is not None else None
            if pause is not None:
                return self._record(schedule, fire_time, "skipped", pause.reason)
            if schedule.overlap == "allow":
                return self._record(schedule, fire_time, "queued", None)
            running = self.queue.count_runs(schedule.id, ("running",))
            queued = self.queue.count_runs(schedule.id, ("queued",))
            if not decide_overlap(schedule.overlap, running=running, queued=queued):
                reason = f"overlap policy {schedule.overlap}: {running} running, {queued} queued"
                return self._alert(schedule, fire_time, self._record(schedule, fire_time, "skipped", reason), reason)
            return self._record(schedule, fire_time, "queued", None)

    def missed(self, schedule: Schedule, fire_time: dt.datetime) -> str:
        """Record a fire that was missed beyond the grace period: it does not run."""
        reason = f"missed by more than the misfire grace ({schedule.misfire_grace_s:g} s)"
        with self._lock:
            return self._alert(schedule, fire_time, self._record(schedule, fire_time, "missed", reason), reason)

    def coalesced(self, schedule: Schedule, fire_time: dt.datetime, into: dt.datetime) -> str:
        """Record a fire that runs as part of a later one (missed fires within the grace run once)."""
        with self._lock:
            return self._record(schedule, fire_time, "skipped", f"coalesced into {fire_key(schedule.id, into)}")

    def _alert(self, schedule: Schedule, fire_time: dt.datetime, outcome: str, reason: str) -> str:
        """Tell `on_misfire` about a fire that started no run (not about a repeat of one already recorded)."""
        if self.on_misfire is not None and outcome in ("missed", "skipped"):
            try:
                self.on_misfire(schedule, fire_time, outcome, reason)
            except Exception as error:  # an alert problem never stops the recording of fires
                self.audit.event("schedule.alert_failed", schedule_id=schedule.id, fire_time=fire_time,
                                 error=f"{type(error).__name__}: {error}")
        return outcome

    def _record(self, schedule: Schedule, fire_time: dt.datetime, state: str, reason: str | None) -> str:
        key = fire_key(schedule.id, fire_time)
        added = self.queue.enqueue_run(key, str(schedule.flow_path), schedule.inputs, schedule_id=schedule.id,
                                       fire_time=fire_time, priority=schedule.priority, requested_by="scheduler",
                                       timeout_s=schedule.timeout_s, state=state, reason=reason,
                                       now=self.clock())
        if added:
            self.audit.event("schedule.fired", schedule_id=schedule.id, fire_time=fire_time, key=key,
                             state=state, reason=reason)
        return state if added else "duplicate"


class Scheduler:
    """Owns the APScheduler instance; rebuilds its jobs whenever schedules.yaml changes."""

    def __init__(self, recorder: FireRecorder, clock: Clock = utc_now):
        self.recorder = recorder
        self.clock = clock
        self.schedules: dict[str, Schedule] = {}
        self.aps = BackgroundScheduler(jobstores={"default": MemoryJobStore()}, timezone=dt.timezone.utc)
        self.aps.add_listener(self._on_event, EVENT_JOB_SUBMITTED | EVENT_JOB_MISSED)
        self._fires: queue.Queue = queue.Queue()
        self._writer = threading.Thread(target=self._write_fires, name="fire-recorder", daemon=True)

    def start(self, schedule_set: ScheduleSet) -> None:
        """Catch up on fires missed while stopped, then start firing."""
        self.apply(schedule_set)
        self._writer.start()
        self.aps.start()

    def apply(self, schedule_set: ScheduleSet) -> None:
        """Replace every job with the enabled schedules of `schedule_set` (after catching up)."""
        self.schedules = {s.id: s for s in schedule_set.schedules if s.enabled}
        for job in self.aps.get_jobs():
            job.remove()
        for schedule in self.schedules.values():
            self.catch_up(schedule)
            self.aps.add_job(_no_op, trigger=schedule.apscheduler_trigger(), id=schedule.id, name=schedule.id,
                             misfire_grace_time=max(1, int(schedule.misfire_grace_s)), coalesce=True,
                             max_instances=1, replace_existing=True)

    def catch_up(self, schedule: Schedule) -> None:
        """Enqueue or record the fires that fell due since this schedule last fired (a schedule that
        never fired has nothing to catch up on)."""
        now = self.clock()
        last = self.recorder.queue.last_fire_time(schedule.id)
        if last is None:
            return
        due = fire_times_between(schedule, max(last, now - CATCH_UP_WINDOW), now)
        decision = decide_missed(schedule, due, now)
        for fire_time in decision.missed:
            self.recorder.missed(schedule, fire_time)
        for fire_time in decision.coalesced:
            self.recorder.coalesced(schedule, fire_time, decision.run)
        if decision.run is not None:
            self.recorder.fire(schedule, decision.run)

    def shutdown(self) -> None:
        """Stop firing; fires already seen are still recorded before this returns."""
        if self.aps.running:
            self.aps.shutdown(wait=True)
        if self._writer.is_alive():
            self._fires.put(None)
            self._writer.join()

    def _on_event(self, event: Any) -> None:
        """Runs on APScheduler's thread: hand the fire to the recording thread so firing never waits on I/O."""
        schedule = self.schedules.get(event.job_id)
        if schedule is None:
            return
        if event.code == EVENT_JOB_MISSED:
            self._fires.put((self.recorder.missed, schedule, nominal_fire_time(schedule, event.scheduled_run_time)))
        else:
            fire_time = nominal_fire_time(schedule, max(event.scheduled_run_times))
            self._fires.put((self.recorder.fire, schedule, fire_time))

    def _write_fires(self) -> None:
        while (task := self._fires.get()) is not None:
            record, schedule, fire_time = task
            try:
                record(schedule, fire_time)
            except Exception as error:  # one fire that cannot be recorded must not stop all later ones
                self._report_lost_fire(schedule, fire_time, error)

    def _report_lost_fire(self, schedule: Schedule, fire_time: dt.datetime, error: Exception) -> None:
        try:
            self.recorder.audit.event("schedule.fire_failed", schedule_id=schedule.id, fire_time=fire_time,
                                      error=f"{type(error).__name__}: {error}")
        except Exception:  # the service log itself is broken: nothing more can be said
            pass


def _no_op() -> None:
    """The job itself does nothing: the submission event enqueues the run (see Scheduler._on_event)."""
