"""Schedules for unattended runs: the `schedules.yaml` model, its checks, business calendars and the
fire-time maths the scheduler service uses (all of it clock-free: `now` is always a parameter).

    schedule_set = load_schedules("schedules.yaml")      # raises FlowValidationError
    for schedule in schedule_set.enabled():
        scheduler.add_job(enqueue, schedule.apscheduler_trigger(), id=schedule.id, args=[schedule.id])
    due = fire_times_between(schedule, last_seen, now)   # after a restart
    decision = decide_missed(schedule, due, now)         # run one, coalesce, record missed
    key = fire_key(schedule.id, decision.run)            # the run's unique key
"""

from bastidor.lazy import lazy_exports

_EXPORTS = {
    "BusinessCalendar": "calendar", "CronError": "cron",
    "ScheduleTrigger": "firetimes", "fire_times_between": "firetimes", "next_fire_after": "firetimes",
    "next_fire_times": "firetimes", "nominal_fire_time": "firetimes",
    "load_schedules": "loader", "Schedule": "model", "ScheduleSet": "model",
    "MissedDecision": "policy", "OverlapPolicy": "policy", "decide_missed": "policy", "decide_overlap": "policy",
    "fire_key": "policy",
    "CronSpec": "triggers", "DateSpec": "triggers", "FileSpec": "triggers", "IntervalSpec": "triggers",
    "MailSpec": "triggers", "TriggerSpec": "triggers",
}
"""Each exported name and the module it lives in: imported on first use (see `bastidor.lazy`)."""
__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "BusinessCalendar", "CronError", "CronSpec", "DateSpec", "FileSpec", "IntervalSpec", "MailSpec",
    "MissedDecision", "OverlapPolicy", "Schedule", "ScheduleSet", "ScheduleTrigger", "TriggerSpec", "decide_missed",
    "decide_overlap", "fire_key", "fire_times_between", "load_schedules", "next_fire_after",
    "next_fire_times", "nominal_fire_time",
]
