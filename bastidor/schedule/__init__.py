"""Schedules for unattended runs: the `schedules.yaml` model, its checks, business calendars and the
fire-time maths the scheduler service uses (all of it clock-free: `now` is always a parameter).

    schedule_set = load_schedules("schedules.yaml")      # raises FlowValidationError
    for schedule in schedule_set.enabled():
        scheduler.add_job(enqueue, schedule.apscheduler_trigger(), id=schedule.id, args=[schedule.id])
    due = fire_times_between(schedule, last_seen, now)   # after a restart
    decision = decide_missed(schedule, due, now)         # run one, coalesce, record missed
    key = fire_key(schedule.id, decision.run)            # the run's unique key
"""

from bastidor.schedule.calendar import BusinessCalendar
from bastidor.schedule.cron import CronError
from bastidor.schedule.firetimes import (
    ScheduleTrigger,
    fire_times_between,
    next_fire_after,
    next_fire_times,
    nominal_fire_time,
)
from bastidor.schedule.loader import load_schedules
from bastidor.schedule.model import Schedule, ScheduleSet
from bastidor.schedule.policy import MissedDecision, OverlapPolicy, decide_missed, decide_overlap, fire_key
from bastidor.schedule.triggers import CronSpec, DateSpec, IntervalSpec, TriggerSpec

__all__ = [
    "BusinessCalendar", "CronError", "CronSpec", "DateSpec", "IntervalSpec", "MissedDecision",
    "OverlapPolicy", "Schedule", "ScheduleSet", "ScheduleTrigger", "TriggerSpec", "decide_missed",
    "decide_overlap", "fire_key", "fire_times_between", "load_schedules", "next_fire_after",
    "next_fire_times", "nominal_fire_time",
]
