"""`schedules` lists what the service runs and when each schedule fires next; `schedules pause ID` and
`schedules resume ID` stop and restart a schedule's runs without editing schedules.yaml."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bastidor.cli.common import error_out, home_dir, os_user
from bastidor.flow.diagnostics import FlowValidationError, did_you_mean, display_path
from bastidor.database.places import is_postgres, places_for

if TYPE_CHECKING:  # the schedules (APScheduler, holidays) and the pause store (SQLAlchemy) load when used
    from bastidor.schedule import Schedule, ScheduleSet
    from bastidor.service.pauses import Pause, SchedulePauses

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
    parser.add_argument("--workers", type=int, metavar="N", help="the bots `serve` runs them with, to check that "
                        "they keep up (default: one per core, as `serve`)")
    parser.set_defaults(handler=run_schedules)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    pause = actions.add_parser("pause", help="stop queueing runs of a schedule: its fires are recorded as skipped")
    pause.add_argument("schedule_id", metavar="ID", help="the schedule's id in the schedules file")
    pause.add_argument("--note", help="why, e.g. 'portal maintenance until 14:00' (shown and audited)")
    resume = actions.add_parser("resume", help="queue a paused schedule's runs again from its next fire")
    resume.add_argument("schedule_id", metavar="ID", help="the schedule's id")
    for action, handler in ((pause, pause_schedule), (resume, resume_schedule)):
        action.add_argument("--schedules", default=argparse.SUPPRESS, metavar="FILE",
                            help="the schedules file (default: schedules.yaml)")
        action.set_defaults(handler=handler)


def run_schedules(args) -> int:
    """Print each schedule and its next fire times; exit 2 when the file or the options are invalid."""
    now = _now(args.now)
    if now is None or args.count < 1:
        error_out("--count must be at least 1" if now is not None else
                  f"--now '{args.now}' is not a date and time: write e.g. 2026-12-24T08:00")
        return 2
    if args.workers is not None and args.workers < 0:
        error_out(f"--workers must be 0 or more, got {args.workers}: give the number of bots `serve` runs")
        return 2
    schedule_set = _schedule_set(args.schedules)
    if schedule_set is None:
        return 2
    pauses = _current_pauses(args)
    listing = [_entry(schedule, now, args.count, pauses.get(schedule.id)) for schedule in schedule_set.schedules]
    warning = _overload_warning(args, schedule_set, pauses, now)
    if args.json:
        print(json.dumps({**_document(schedule_set, now, listing), "overload_warning": warning}, indent=2,
                         ensure_ascii=False))
    else:
        _print_text(schedule_set, listing)
        if warning:
            print(f"\n{warning}")
    return 0


def _overload_warning(args, schedule_set: ScheduleSet, pauses: dict[str, Pause], now: dt.datetime) -> str | None:
    """The warning for running schedules that keep more bots busy than `serve` would have (see
    `bastidor.schedule.capacity`); None when the pool keeps up."""
    from bastidor.schedule.capacity import overload_warning
    from bastidor.service.pool import default_workers

    running = [schedule for schedule in schedule_set.enabled() if schedule.id not in pauses]
    workers = args.workers if args.workers is not None else default_workers()
    return overload_warning(running, places_for(home_dir(args)).runs, workers, now)


def pause_schedule(args) -> int:
    """Pause one schedule of the schedules file, recorded with the user who asked; exit 2 if it is unknown."""
    schedule_set = _schedule_set(args.schedules)
    if schedule_set is None:
        return 2
    if args.schedule_id not in schedule_set.by_id:
        hint = did_you_mean(args.schedule_id, schedule_set.by_id)
        error_out(f"no schedule '{args.schedule_id}' in {args.schedules}{hint}")
        return 2
    user = os_user()
    done, pause = _change_pauses(args, lambda pauses: pauses.pause(args.schedule_id, user, note=args.note))
    if not done:
        return 2
    if not _recorded(args, "schedule.pause", user, undo=lambda pauses: pauses.resume(args.schedule_id),
                     schedule_id=args.schedule_id, note=pause.note):
        return 3
    print(f"{args.schedule_id} is paused ({pause.reason}): its fires are recorded as skipped until "
          f"`schedules resume {args.schedule_id}`")
    return 0


def resume_schedule(args) -> int:
    """Resume a paused schedule, recorded with the user who asked; exit 2 if it was not paused."""
    schedule_set = _schedule_set(args.schedules)
    if schedule_set is None:
        return 2
    user = os_user()
    done, ended = _change_pauses(args, lambda pauses: pauses.resume(args.schedule_id))
    if done and ended is None:
        error_out(f"schedule '{args.schedule_id}' is not paused: nothing to resume")
    if not done or ended is None:
        return 2
    undo = lambda pauses: pauses.pause(args.schedule_id, ended.paused_by, note=ended.note)  # noqa: E731
    if not _recorded(args, "schedule.resume", user, undo=undo, schedule_id=args.schedule_id, note=ended.note):
        return 3
    print(f"{args.schedule_id} is resumed: it runs again from its next fire time (it was {ended.reason})")
    return 0


def _schedule_set(path: str) -> ScheduleSet | None:
    from bastidor.schedule import load_schedules

    try:
        return load_schedules(path)
    except FlowValidationError as error:
        for problem in error.diagnostics:
            print(problem)
        print(f"{len(error.diagnostics)} problem(s) in {path}", file=sys.stderr)
        return None


def _change_pauses(args, change: Callable[[SchedulePauses], Any]) -> tuple[bool, Any]:
    """(True, what `change` returned) on this home folder's pause store; (False, None) after saying why not."""
    from bastidor.service.pauses import PauseError, open_schedule_pauses

    try:
        pauses = open_schedule_pauses(places_for(home_dir(args)).queue)
        try:
            return True, change(pauses)
        finally:
            pauses.close()
    except PauseError as error:
        error_out(str(error))
        return False, None


def _recorded(args, action: str, user: str, undo: Callable[[SchedulePauses], Any], **fields) -> bool:
    """Record the change in the console audit log (where the console records pauses too); if that cannot
    be written, undo the change and say so: an unrecorded change is not made."""
    from bastidor.audit import AuditWriteError
    from bastidor.console.console_audit import ConsoleAudit, console_audit_path

    try:
        ConsoleAudit(console_audit_path(home_dir(args))).record(user, action, via="command line", **fields)
        return True
    except (AuditWriteError, OSError) as error:
        _change_pauses(args, undo)
        error_out(f"not done: the audit log could not be written ({error}), so the change was undone")
        return False


def _now(written: str | None) -> dt.datetime | None:
    if written is None:
        return dt.datetime.now(dt.timezone.utc)
    try:
        moment = dt.datetime.fromisoformat(written.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)


def _current_pauses(args) -> dict[str, Pause]:
    """The paused schedules of this home folder; none when its queue does not exist yet (nothing to pause)."""
    from bastidor.service.pauses import PauseError, open_schedule_pauses

    database = places_for(home_dir(args)).queue
    if not is_postgres(database) and not Path(database).is_file():
        return {}
    try:
        pauses = open_schedule_pauses(database)
        try:
            return pauses.all()
        finally:
            pauses.close()
    except PauseError as error:
        error_out(f"{error} Paused schedules are not shown.")
        return {}


def _entry(schedule: Schedule, now: dt.datetime, count: int, pause: Pause | None) -> dict:
    from bastidor.schedule import next_fire_times

    calendar = schedule.calendar
    return {
        "id": schedule.id,
        "flow": display_path(schedule.flow_path),
        "trigger": schedule.trigger.text(),
        "event": bool(getattr(schedule.trigger, "event", False)),
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
        "paused": None if pause is None else {"by": pause.paused_by, "at": pause.paused_at, "note": pause.note},
    }


def _document(schedule_set: ScheduleSet, now: dt.datetime, listing: list[dict]) -> dict:
    for entry in listing:
        entry["next"] = [moment.isoformat() for moment in entry["next"]]
        if entry["paused"] is not None:
            entry["paused"]["at"] = entry["paused"]["at"].isoformat()
    return {"file": display_path(schedule_set.path), "sha256": schedule_set.sha256,
            "now": now.isoformat(), "schedules": listing}


def _print_text(schedule_set: ScheduleSet, listing: list[dict]) -> None:
    enabled = sum(entry["enabled"] for entry in listing)
    print(f"{display_path(schedule_set.path)}: {len(listing)} schedule(s), {enabled} enabled")
    for entry in listing:
        print(f"\n{entry['id']} ({'enabled' if entry['enabled'] else 'disabled'})")
        if entry["paused"] is not None:
            paused = entry["paused"]
            note = f": {paused['note']}" if paused["note"] else ""
            _line("paused", f"by {paused['by']} since {paused['at']:%Y-%m-%d %H:%M} UTC{note}")
        _line("flow", entry["flow"])
        if entry["event"]:  # runs when something arrives: no time zone, calendar or fire times apply
            _line("trigger", entry["trigger"])
            _line("next", "each time one arrives (the service watches while it runs)")
            continue
        _line("trigger", f"{entry['trigger']} ({entry['timezone']})")
        calendar = f"{entry['calendar']} ({entry['calendar_rules']})" if entry["calendar"] else "none (every day)"
        _line("calendar", calendar)
        times = [moment.strftime("%a %Y-%m-%d %H:%M %Z") for moment in entry["next"]] or ["never"]
        for number, text in enumerate(times):
            _line("next" if number == 0 else "", text)


def _line(label: str, value: str) -> None:
    print(f"  {label:<{_LABEL_WIDTH}}{value}")
