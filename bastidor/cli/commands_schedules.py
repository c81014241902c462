"""`schedules` lists what the service runs, and when each schedule fires next."""

from __future__ import annotations

import datetime as dt
import json
import sys

from bastidor.cli.common import error_out
from bastidor.flow.diagnostics import FlowValidationError, display_path
from bastidor.schedule import Schedule, ScheduleSet, load_schedules, next_fire_times

_LABEL_WIDTH = 10


def register(commands) -> None:
    """Add the `schedules` command."""
    parser = commands.add_parser("schedules", help="check schedules.yaml and list when each schedule fires next")
    parser.add_argument("--schedules", default="schedules.yaml", metavar="FILE",
                        help="the schedules file (default: schedules.yaml)")
    parser.add_argument("--count", type=int, default=3, metavar="N", help="fire times to show per schedule")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--now", metavar="WHEN", help="count from this moment instead of the current time "
                        "(ISO 8601, e.g. 2026-12-24T08:00; UTC unless it has an offset)")
    parser.set_defaults(handler=run_schedules)


def run_schedules(args) -> int:
    """Print each schedule and its next fire times; exit 2 when the file or the options are invalid."""
    now = _now(args.now)
    if now is None or args.count < 1:
        error_out("--count must be at least 1" if now is not None else
                  f"--now '{args.now}' is not a date and time: write e.g. 2026-12-24T08:00")
        return 2
    try:
        schedule_set = load_schedules(args.schedules)
    except FlowValidationError as error:
        for problem in error.diagnostics:
            print(problem)
        print(f"{len(error.diagnostics)} problem(s) in {args.schedules}", file=sys.stderr)
        return 2
    listing = [_entry(schedule, now, args.count) for schedule in schedule_set.schedules]
    if args.json:
        print(json.dumps(_document(schedule_set, now, listing), indent=2, ensure_ascii=False))
    else:
        _print_text(schedule_set, listing)
    return 0


def _now(written: str | None) -> dt.datetime | None:
    if written is None:
        return dt.datetime.now(dt.timezone.utc)
    try:
        moment = dt.datetime.fromisoformat(written.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)


def _entry(schedule: Schedule, now: dt.datetime, count: int) -> dict:
    calendar = schedule.calendar
    return {
        "id": schedule.id,
        "flow": display_path(schedule.flow_path),
        "trigger": schedule.trigger.text(),
        "timezone": schedule.timezone.key,
        "enabled": schedule.enabled,
        "calendar": calendar.name if calendar else None,
        "calendar_rules": calendar.describe() if calendar else None,
        "overlap": schedule.overlap.value,
        "misfire_grace_s": schedule.misfire_grace_s,
        "jitter_s": schedule.jitter_s,
        "timeout_s": schedule.timeout_s,
        "priority": schedule.priority,
        "next": [moment.astimezone(schedule.timezone) for moment in next_fire_times(schedule, now, count)],
    }


def _document(schedule_set: ScheduleSet, now: dt.datetime, listing: list[dict]) -> dict:
    for entry in listing:
        entry["next"] = [moment.isoformat() for moment in entry["next"]]
    return {"file": display_path(schedule_set.path), "sha256": schedule_set.sha256,
            "now": now.isoformat(), "schedules": listing}


def _print_text(schedule_set: ScheduleSet, listing: list[dict]) -> None:
    enabled = sum(entry["enabled"] for entry in listing)
    print(f"{display_path(schedule_set.path)}: {len(listing)} schedule(s), {enabled} enabled")
    for entry in listing:
        print(f"\n{entry['id']} ({'enabled' if entry['enabled'] else 'disabled'})")
        _line("flow", entry["flow"])
        _line("trigger", f"{entry['trigger']} ({entry['timezone']})")
        calendar = f"{entry['calendar']} ({entry['calendar_rules']})" if entry["calendar"] else "none (every day)"
        _line("calendar", calendar)
        times = [moment.strftime("%a %Y-%m-%d %H:%M %Z") for moment in entry["next"]] or ["never"]
        for number, text in enumerate(times):
            _line("next" if number == 0 else "", text)


def _line(label: str, value: str) -> None:
    print(f"  {label:<{_LABEL_WIDTH}}{value}")
