"""The scheduler: APScheduler 3.11 on an in-memory job store rebuilt from schedules.yaml.

It never runs a flow. A fire only enqueues a run request keyed `schedule@fire_time`, so one fire
time can never produce two runs, whichever scheduler (or restart) enqueues it. Fires missed while
no scheduler ran are caught up at start: the latest within the misfire grace runs once, older ones
are recorded as missed. The triggers skip closed business days; the overlap policy is applied here.

APScheduler's thread only hands each fire to one recording thread (`FireWriter`), which takes every
fire waiting and records them together in one transaction. When it falls behind, only the latest
waiting fire of each schedule is recorded and the older ones are coalesced into it and counted (see
`bastidor.schedule.backlog`), so lateness stays bounded, and `shutdown` never works through a backlog.

Schedules with an event trigger (`on_file`, `on_mail`) get no job: they are handed to `events` (the
service's `EventWatchers`), which fire them when a file or a message arrives.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from typing import Any

from apscheduler.events import EVENT_JOB_SUBMITTED
from apscheduler.executors.base import BaseExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bastidor.schedule import Schedule, ScheduleSet, decide_missed, fire_times_between, nominal_fire_time
from bastidor.schedule.backlog import COALESCED, MISSED, Fire, batches
from bastidor.service.fire_recorder import Clock, FireRecorder, utc_now
from bastidor.service.fire_writer import FIRES_PER_TRANSACTION, FireWriter

__all__ = ["FireRecorder", "FireWriter", "Scheduler", "utc_now"]

CATCH_UP_WINDOW = dt.timedelta(days=7)


class Scheduler:
    """Owns the APScheduler instance; rebuilds its jobs whenever schedules.yaml changes."""

    def __init__(self, recorder: FireRecorder, clock: Clock = utc_now, events: Any = None):
        self.recorder = recorder
        self.events = events
        self.clock = clock
        self.schedules: dict[str, Schedule] = {}
        self.aps = BackgroundScheduler(jobstores={"default": MemoryJobStore()}, executors={"default": _FireOnly()},
                                       timezone=dt.timezone.utc)
        self.aps.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
        self.writer = FireWriter(recorder, clock)
        self._lock = threading.Lock()
        self._stopped = False

    def start(self, schedule_set: ScheduleSet) -> None:
        """Catch up on fires missed while stopped, then start firing."""
        self.apply(schedule_set)
        self.writer.start()
        self.aps.start()
        if self.events is not None:
            self.events.start()

    def apply(self, schedule_set: ScheduleSet) -> None:
        """Replace every job with the enabled schedules of `schedule_set`, after catching up on all of them
        in batches; each job fires first at its first fire time after the catch-up."""
        with self._lock:
            if self._stopped:
                return
            self.schedules = {s.id: s for s in schedule_set.schedules if s.enabled and not s.trigger.event}
            if self.events is not None:
                self.events.apply([s for s in schedule_set.schedules if s.enabled and s.trigger.event])
            self.aps.remove_all_jobs()
            now = self.clock()
            due = [fire for schedule in self.schedules.values() for fire in self._catch_up_fires(schedule, now)]
            for batch in batches(due, FIRES_PER_TRANSACTION):
                self.recorder.record(batch)
            for schedule in self.schedules.values():
                trigger = schedule.apscheduler_trigger()
                self.aps.add_job(_no_op, trigger=trigger, id=schedule.id, name=schedule.id, coalesce=False,
                                 replace_existing=True, next_run_time=trigger.get_next_fire_time(None, now))

    def catch_up(self, schedule: Schedule) -> None:
        """Enqueue or record the fires that fell due since this schedule last fired (a schedule that
        never fired has nothing to catch up on)."""
        for batch in batches(self._catch_up_fires(schedule, self.clock()), FIRES_PER_TRANSACTION):
            self.recorder.record(batch)

    def shutdown(self) -> Counter[str]:
        """Stop firing at once. The batch being recorded is finished; fires still waiting are not recorded
        but counted in the audit log (the next start's catch-up decides what they become). Nothing more is
        recorded after this returns. Returns how many fire times of each schedule were dropped."""
        with self._lock:
            self._stopped = True
        if self.aps.running:
            self.aps.shutdown(wait=False)
        if self.events is not None:
            self.events.stop()
        dropped = self.writer.stop()
        self.recorder.audit.event("scheduler.stopped", fires_dropped=sum(dropped.values()),
                                  dropped_by_schedule=dict(dropped), coalesced_by_schedule=dict(self.writer.coalesced))
        return dropped

    def _catch_up_fires(self, schedule: Schedule, now: dt.datetime) -> list[Fire]:
        """The fires due since the schedule's last recorded one, as `decide_missed` says to record them."""
        last = self.recorder.queue.last_fire_time(schedule.id)
        if last is None:
            return []
        decision = decide_missed(schedule, fire_times_between(schedule, max(last, now - CATCH_UP_WINDOW), now), now)
        fires = [Fire(schedule, fire_time, MISSED) for fire_time in decision.missed]
        fires += [Fire(schedule, fire_time, COALESCED, decision.run) for fire_time in decision.coalesced]
        return fires + ([Fire(schedule, decision.run)] if decision.run is not None else [])

    def _on_submitted(self, event: Any) -> None:
        """Runs on APScheduler's thread: hand the fire to the recording thread so firing never waits on I/O.
        Fire times APScheduler found due together (it was late) are folded into the latest one."""
        schedule = self.schedules.get(event.job_id)
        if schedule is None:
            return
        run_time = max(event.scheduled_run_times)  # without jitter, APScheduler's run time is the fire time
        fire_time = nominal_fire_time(schedule, run_time) if schedule.jitter_s else run_time.astimezone(dt.timezone.utc)
        if fire_time is not None:
            self.writer.put(Fire(schedule, fire_time, earlier=len(event.scheduled_run_times) - 1))


class _FireOnly(BaseExecutor):
    """An APScheduler executor that runs nothing: the submission event records the fire. With no thread
    pool, no fire is ever dropped because an earlier instance of its job is still "running"."""

    def submit_job(self, job: Any, run_times: list[dt.datetime]) -> None:
        """Nothing to run: APScheduler sends the submission event next (see `Scheduler._on_submitted`)."""

    def _do_submit_job(self, job: Any, run_times: list[dt.datetime]) -> None:
        """Never called (see `submit_job`)."""


def _no_op() -> None:
    """The job itself does nothing: the submission event enqueues the run (see Scheduler._on_submitted)."""
