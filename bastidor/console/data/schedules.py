"""The Schedules page's data: each schedule of schedules.yaml with its next fire times, its latest run
request in the work queue, and whether someone paused it.

    listing = list_schedules(context.schedules_path, context.queue, pauses, now)
    for row in listing.rows:
        print(row.id, row.next_fires, row.last.state if row.last else "never fired", row.pause)

A schedules file with problems is not an error here: the listing carries its `file:line:column`
messages for the page to show, as `python runner.py schedules` prints them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bastidor.flow.diagnostics import FlowValidationError
from bastidor.queue import RunRequest
from bastidor.schedule import Schedule, load_schedules, next_fire_times
from bastidor.service.pauses import Pause, SchedulePauses

NEXT_FIRES = 3


@dataclass(frozen=True)
class ScheduleRow:
    """One schedule as the page shows it."""

    schedule: Schedule
    next_fires: list[dt.datetime]
    """In the schedule's own time zone, soonest first (empty when it never fires again)."""
    last: RunRequest | None
    """The schedule's newest run request in any state (queued, running, done, skipped...), None if none."""
    pause: Pause | None

    @property
    def id(self) -> str:
        """The schedule's id."""
        return self.schedule.id

    @property
    def calendar_text(self) -> str:
        """The business calendar by name and rules, or "every day"."""
        calendar = self.schedule.calendar
        return f"{calendar.name} ({calendar.describe()})" if calendar else "every day (no calendar)"

    @property
    def state(self) -> str:
        """``paused``, ``disabled`` (in the file) or ``active``."""
        return "paused" if self.pause else "active" if self.schedule.enabled else "disabled"


@dataclass
class ScheduleListing:
    """Every schedule of the file, or why the file could not be read."""

    path: Path
    rows: list[ScheduleRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """`file:line:column: message` lines when the schedules file is missing or invalid."""


def list_schedules(schedules_path: Path, queue: Any, pauses: SchedulePauses, now: dt.datetime,
                   count: int = NEXT_FIRES) -> ScheduleListing:
    """Each schedule of `schedules_path` with its next `count` fire times after `now`, its newest run
    request and its pause."""
    listing = ScheduleListing(schedules_path)
    if not schedules_path.is_file():
        listing.problems.append(f"{schedules_path}: there is no schedules file here; create it (see "
                                "docs/schedules.md) or start the console with the right --schedules")
        return listing
    try:
        schedule_set = load_schedules(schedules_path)
    except FlowValidationError as error:
        listing.problems.extend(str(problem) for problem in error.diagnostics)
        return listing
    paused = pauses.all()
    listing.rows = [_row(schedule, queue, paused.get(schedule.id), now, count) for schedule in schedule_set.schedules]
    return listing


def find_schedule(schedules_path: Path, schedule_id: str) -> Schedule | None:
    """The schedule with this id in the file, None when the file lacks it or cannot be read."""
    try:
        return load_schedules(schedules_path).by_id.get(schedule_id)
    except (FlowValidationError, OSError):
        return None


def _row(schedule: Schedule, queue: Any, pause: Pause | None, now: dt.datetime, count: int) -> ScheduleRow:
    fires = [moment.astimezone(schedule.timezone) for moment in next_fire_times(schedule, now, count)]
    latest = queue.list_runs(schedule_id=schedule.id, limit=1)
    return ScheduleRow(schedule, fires, latest[0] if latest else None, pause)
