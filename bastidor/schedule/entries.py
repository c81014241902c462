"""Turns one written schedule entry into a `Schedule`, reporting every problem it has."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bastidor.flow.yamlsource import Loc
from bastidor.schedule.cron import CronError
from bastidor.schedule.fileformat import ScheduleFile, TriggerFile
from bastidor.schedule.event_triggers import EVENT_KINDS, build_event_trigger, trigger_inputs
from bastidor.schedule.flowrefs import check_flow, check_inputs
from bastidor.schedule.model import Schedule
from bastidor.schedule.problems import Problems
from bastidor.schedule.settings import LoadContext, Settings, resolve_settings
from bastidor.schedule.triggers import CronSpec, DateSpec, IntervalSpec, TriggerSpec, format_duration

TRIGGER_KINDS = ("cron", "interval", "date") + EVENT_KINDS


def build_schedule(raw: Any, index: int, defaults: Settings, context: LoadContext) -> Schedule | None:
    """The schedule written at `schedules[index]`, or None after recording why it is not valid."""
    loc = ("schedules", index)
    problems = context.problems
    if not isinstance(raw, dict):
        problems.add(loc, "each schedule is a mapping with at least id, flow and trigger, "
                     "e.g. `- id: daily-orders`")
        return None
    where = f"schedule '{raw['id']}'" if isinstance(raw.get("id"), str) else f"schedule {index + 1}"
    before = len(problems.items)
    entry = problems.validate(ScheduleFile, raw, loc, where)
    if entry is None:
        return None
    _check_unique(entry.id, loc, context)
    settings = resolve_settings(entry, raw, defaults, context, loc)
    flow = check_flow(entry.flow, context.folder, context.flows, problems, loc + ("flow",))
    trigger = build_trigger(entry.trigger, raw["trigger"], settings.timezone, problems, loc + ("trigger",),
                            context, flow[1] if flow else None)
    inputs = check_inputs(flow[1], entry.inputs, entry.flow, context.folder, problems, loc + ("inputs",),
                          provided=trigger_inputs(trigger, entry.trigger)) if flow else {}
    _check_jitter(trigger, settings, problems, loc)
    if len(problems.items) > before or settings.broken or trigger is None or flow is None:
        return None
    return Schedule(
        id=entry.id, flow_path=flow[0], trigger=trigger, timezone=settings.timezone, inputs=inputs,
        enabled=entry.enabled, misfire_grace_s=settings.misfire_grace_s, overlap=settings.overlap,
        calendar=settings.calendar, jitter_s=settings.jitter_s, timeout_s=settings.timeout_s,
        priority=settings.priority, flow=entry.flow, description=entry.description)


def build_trigger(spec: TriggerFile, raw: dict, timezone: ZoneInfo, problems: Problems,
                  loc: Loc, context: LoadContext | None = None, header: Any = None) -> TriggerSpec | None:
    """The trigger written as `raw`, or None after recording what is wrong with it. Event triggers
    (on_file, on_mail) are checked against the file's `context` and the flow's `header` (None when the
    flow itself is not valid: that is reported already)."""
    kinds = [key for key in raw if key in TRIGGER_KINDS and raw[key] is not None]
    if not kinds:
        problems.add(loc, "the trigger needs one of 'cron', 'interval', 'date', 'on_file' or 'on_mail', "
                     "e.g. {cron: \"0 9 * * 1-5\"} or {interval: 10m}")
        return None
    if len(kinds) > 1:
        problems.add(loc + (kinds[1],), f"a trigger has one kind, but this one has both '{kinds[0]}' and "
                     f"'{kinds[1]}': keep one (write two schedules to run on both)", key=True)
        return None
    if spec.start is not None and kinds[0] != "interval":
        problems.add(loc + ("start",), "'start' only goes with 'interval': remove it", key=True)
        return None
    if kinds[0] in EVENT_KINDS:
        if context is None or header is None or getattr(spec, kinds[0]) is None:
            return None
        return build_event_trigger(kinds[0], getattr(spec, kinds[0]), context, header, loc + (kinds[0],))
    return _one_trigger(kinds[0], spec, raw, timezone, problems, loc)


def _one_trigger(kind: str, spec: TriggerFile, raw: dict, timezone: ZoneInfo, problems: Problems,
                 loc: Loc) -> TriggerSpec | None:
    if kind == "cron":
        try:
            return CronSpec.parse(spec.cron, timezone)
        except CronError as error:
            problems.add(loc + ("cron",), str(error), offset=error.offset)
            return None
    if kind == "interval":
        if spec.interval < 1000:
            problems.add(loc + ("interval",), f"'interval' must be at least 1s; got {raw['interval']}")
            return None
        return IntervalSpec.build(spec.interval / 1000, timezone, spec.start)
    return DateSpec.build(spec.date, timezone)


def _check_unique(schedule_id: str, loc: Loc, context: LoadContext) -> None:
    first = context.seen_ids.get(schedule_id)
    if first is None:
        context.seen_ids[schedule_id] = context.problems.source.at(loc + ("id",)).line
        return
    context.problems.add(loc + ("id",), f"duplicate schedule id '{schedule_id}': it is already used on "
                         f"line {first}; each schedule needs its own id")


def _check_jitter(trigger: TriggerSpec | None, settings: Settings, problems: Problems, loc: Loc) -> None:
    if isinstance(trigger, IntervalSpec) and settings.jitter_s >= trigger.every.total_seconds():
        every = format_duration(trigger.every.total_seconds())
        problems.add(loc + ("jitter",), f"'jitter' ({format_duration(settings.jitter_s)}) must be shorter "
                     f"than the interval ({every}), or runs would start after the next fire time")
