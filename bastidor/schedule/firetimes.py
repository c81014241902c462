"""When a schedule fires: its trigger's times, minus the days its business calendar closes.

Every function takes the moment to count from as a parameter (no hidden clock) and returns
timezone-aware UTC datetimes without jitter. `ScheduleTrigger` gives APScheduler the same times,
then lets APScheduler add the jitter.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from apscheduler.triggers.base import BaseTrigger

from bastidor.schedule.triggers import TICK, UTC, require_aware

if TYPE_CHECKING:
    from bastidor.schedule.model import Schedule

SEARCH_HORIZON = dt.timedelta(days=5 * 366)
"""How far ahead `next_fire_after` looks for a fire time on an open day before giving up."""


def next_fire_after(schedule: "Schedule", after: dt.datetime) -> dt.datetime | None:
    """The first fire time strictly after `after` on a day the calendar keeps open, or None when
    there is none within SEARCH_HORIZON (a past date, or a trigger that only hits closed days)."""
    moment = require_aware(after, "after").astimezone(UTC)
    limit = moment + SEARCH_HORIZON
    while True:
        found = schedule.trigger.next_after(moment)
        if found is None or found > limit:
            return None
        day = found.astimezone(schedule.timezone).date()
        if schedule.calendar is None or schedule.calendar.is_open(day):
            return found
        moment = max(_start_of_day(day + dt.timedelta(days=1), schedule) - TICK, found)


def fire_times_between(schedule: "Schedule", start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Every fire time in (start, end] on open days, in order, in UTC, without jitter."""
    end = require_aware(end, "end")
    times = []
    moment = next_fire_after(schedule, start)
    while moment is not None and moment <= end:
        times.append(moment)
        moment = next_fire_after(schedule, moment)
    return times


def next_fire_times(schedule: "Schedule", now: dt.datetime, count: int = 3) -> list[dt.datetime]:
    """The next `count` fire times strictly after `now` on open days (fewer when the trigger ends)."""
    times: list[dt.datetime] = []
    moment = next_fire_after(schedule, now)
    while moment is not None and len(times) < count:
        times.append(moment)
        moment = next_fire_after(schedule, moment)
    return times


def nominal_fire_time(schedule: "Schedule", fired_at: dt.datetime) -> dt.datetime | None:
    """The fire time (without jitter) that a jittered start at `fired_at` belongs to: the latest
    fire time in [fired_at - jitter, fired_at]. Use it to build the run's `fire_key`."""
    fired_at = require_aware(fired_at, "fired_at")
    window_start = fired_at - dt.timedelta(seconds=schedule.jitter_s) - TICK
    times = fire_times_between(schedule, window_start, fired_at)
    return times[-1] if times else None


def _start_of_day(day: dt.date, schedule: "Schedule") -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=schedule.timezone).astimezone(UTC)


class ScheduleTrigger(BaseTrigger):
    """An APScheduler trigger for one Schedule: its nominal fire times on open days, then up to
    `jitter_s` seconds of random delay applied by APScheduler's own jitter."""

    __slots__ = ("schedule",)

    def __init__(self, schedule: "Schedule"):
        self.schedule = schedule

    def get_next_fire_time(self, previous_fire_time: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
        """APScheduler's hook: the next (jittered) fire time after the previous one, or from `now`."""
        after = previous_fire_time if previous_fire_time is not None else now - TICK
        found = next_fire_after(self.schedule, after)
        if found is None:
            return None
        return self._apply_jitter(found.astimezone(self.schedule.timezone), self.schedule.jitter_s, now)

    def __str__(self) -> str:
        return self.schedule.trigger_text

    def __repr__(self) -> str:
        return f"<ScheduleTrigger {self.schedule.id}: {self.schedule.trigger_text}>"
