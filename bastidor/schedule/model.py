"""A loaded, validated schedules file: the `Schedule` entries the service runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from bastidor.schedule.calendar import BusinessCalendar
from bastidor.schedule.policy import OverlapPolicy
from bastidor.schedule.triggers import TriggerSpec, format_duration

DEFAULT_TIMEZONE = "UTC"
DEFAULT_MISFIRE_GRACE_S = 300.0
DEFAULT_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class Schedule:
    """One entry of the schedules file, with every default applied and every reference resolved.

    `flow_path` is absolute; `inputs` are the flow inputs to pass (path inputs already absolute,
    relative to the schedules file's folder); `trigger` is a CronSpec, IntervalSpec or DateSpec, or an
    event trigger (FileSpec, MailSpec: `trigger.event` is true) fired by the service's watchers;
    durations are in seconds; a higher `priority` runs first.
    """

    id: str
    flow_path: Path
    trigger: TriggerSpec
    timezone: ZoneInfo
    inputs: dict[str, Any] = field(default_factory=dict, hash=False)
    enabled: bool = True
    misfire_grace_s: float = DEFAULT_MISFIRE_GRACE_S
    overlap: OverlapPolicy = OverlapPolicy.skip
    calendar: BusinessCalendar | None = None
    jitter_s: float = 0.0
    timeout_s: float = DEFAULT_TIMEOUT_S
    priority: int = 0
    flow: str = ""
    description: str = ""

    @property
    def trigger_text(self) -> str:
        """The trigger as a person reads it, with the time zone and jitter, e.g.
        "cron */5 * * * 1-5 (Europe/Lisbon, jitter 30s)"."""
        if self.trigger.event:  # a file or a message, not the clock: no time zone or jitter to speak of
            return self.trigger.text()
        extra = f", jitter {format_duration(self.jitter_s)}" if self.jitter_s else ""
        return f"{self.trigger.text()} ({self.timezone.key}{extra})"

    def apscheduler_trigger(self) -> BaseTrigger:
        """An APScheduler trigger for this schedule: the same fire times as `fire_times_between`
        (closed calendar days skipped), then delayed by up to `jitter_s` by APScheduler."""
        from bastidor.schedule.firetimes import ScheduleTrigger

        return ScheduleTrigger(self)


@dataclass(frozen=True)
class ScheduleSet:
    """Every schedule in one schedules file, in file order, with the file's SHA-256."""

    path: Path
    sha256: str
    schedules: list[Schedule]
    calendars: dict[str, BusinessCalendar] = field(default_factory=dict, hash=False)
    mail_accounts: dict[str, Any] = field(default_factory=dict, hash=False)
    """The `mail_accounts:` section: MailAccountSpec by name (the secrets they name are in the service's)."""

    @cached_property
    def by_id(self) -> dict[str, Schedule]:
        """The schedules keyed by id."""
        return {schedule.id: schedule for schedule in self.schedules}

    @property
    def folder(self) -> Path:
        """The folder relative paths in the file are resolved against."""
        return self.path.parent

    def enabled(self) -> list[Schedule]:
        """The schedules the service should run, highest priority first (file order on ties)."""
        active = [schedule for schedule in self.schedules if schedule.enabled]
        return sorted(active, key=lambda schedule: -schedule.priority)

