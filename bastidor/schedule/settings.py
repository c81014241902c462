"""Settings shared by `defaults` and each schedule (time zone, grace, overlap, calendar, ...),
resolved against the defaults, and the business calendars they name."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bastidor.flow.diagnostics import did_you_mean
from bastidor.flow.loader import FlowLoader
from bastidor.flow.yamlsource import Loc
from bastidor.schedule.calendar import BusinessCalendar, country_problem, subdivision_problem
from bastidor.schedule.fileformat import CalendarFile, SettingsFile
from bastidor.schedule.model import DEFAULT_MISFIRE_GRACE_S, DEFAULT_TIMEOUT_S, DEFAULT_TIMEZONE
from bastidor.schedule.policy import OverlapPolicy
from bastidor.schedule.problems import Problems
from bastidor.schedule.zones import find_timezone


@dataclass(frozen=True)
class Settings:
    """Resolved settings; `broken` means one could not be resolved (and was reported)."""

    timezone: ZoneInfo = ZoneInfo(DEFAULT_TIMEZONE)
    misfire_grace_s: float = DEFAULT_MISFIRE_GRACE_S
    overlap: OverlapPolicy = OverlapPolicy.skip
    calendar: BusinessCalendar | None = None
    jitter_s: float = 0.0
    timeout_s: float = DEFAULT_TIMEOUT_S
    priority: int = 0
    broken: bool = False


@dataclass
class LoadContext:
    """What checking one schedules file shares between its parts."""

    problems: Problems
    folder: Path
    flows: FlowLoader = field(default_factory=FlowLoader)
    calendars: dict[str, BusinessCalendar] = field(default_factory=dict)
    broken_calendars: set[str] = field(default_factory=set)
    seen_ids: dict[str, int] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)
    mail_accounts: dict[str, Any] = field(default_factory=dict)
    """Declared mail accounts (MailAccountSpec) by name; `broken_accounts` were declared with a mistake."""
    broken_accounts: set[str] = field(default_factory=set)
    watched_folders: dict[Path, int] = field(default_factory=dict)
    """The folders of the on_file triggers checked so far, and the line each is written on."""


def resolve_settings(written: SettingsFile, raw: dict, base: Settings, context: LoadContext,
                     loc: Loc) -> Settings:
    """`base` with every setting written in `raw` applied; problems are recorded at `loc`."""
    changes: dict[str, Any] = {}
    before = len(context.problems.items)
    if written.timezone is not None:
        try:
            changes["timezone"] = find_timezone(written.timezone)
        except ValueError as error:
            context.problems.add(loc + ("timezone",), str(error))
    if written.timeout is not None and written.timeout <= 0:
        context.problems.add(loc + ("timeout",), "'timeout' must be longer than 0: it is the longest a run "
                             "may take, e.g. 20m")
    if "calendar" in raw:
        changes["calendar"] = resolve_calendar(raw["calendar"], context, loc + ("calendar",))
    for name in ("misfire_grace", "jitter", "timeout"):
        if getattr(written, name) is not None:
            changes[f"{name}_s"] = getattr(written, name) / 1000
    if written.overlap is not None:
        changes["overlap"] = OverlapPolicy(written.overlap)
    if written.priority is not None:
        changes["priority"] = written.priority
    broken = base.broken or len(context.problems.items) > before
    return dataclasses.replace(base, **changes, broken=broken)


def resolve_calendar(value: Any, context: LoadContext, loc: Loc) -> BusinessCalendar | None:
    """The calendar a `calendar:` value names or describes (None for `calendar: null`)."""
    if value is None:
        return None
    if isinstance(value, dict):
        spec = context.problems.validate(CalendarFile, value, loc, "the calendar")
        return build_calendar("(inline)", spec, context.problems, loc) if spec else None
    if not isinstance(value, str):
        context.problems.add(loc, "'calendar' must be the name of a calendar under `calendars:` or a "
                             "calendar mapping such as {business_days_only: true}")
        return None
    if value in context.calendars or value in context.broken_calendars:
        return context.calendars.get(value)
    known = set(context.calendars) | context.broken_calendars
    hint = did_you_mean(value, known) if known else ": no calendars are defined; add it under `calendars:`"
    context.problems.add(loc, f"unknown calendar '{value}'{hint}")
    return None


def build_calendar(name: str, spec: CalendarFile, problems: Problems, loc: Loc) -> BusinessCalendar | None:
    """A BusinessCalendar from its written form, or None after reporting an unknown country or region."""
    country = subdivision = None
    if spec.holidays is not None:
        country, subdivision = spec.holidays.country, spec.holidays.subdivision
        problem = country_problem(country)
        if problem is not None:
            problems.add(loc + ("holidays", "country"), problem)
            return None
        country = country.upper()
        problem = subdivision_problem(country, subdivision) if subdivision is not None else None
        if problem is not None:
            problems.add(loc + ("holidays", "subdivision"), problem)
            return None
    return BusinessCalendar(name, spec.business_days_only, country, subdivision, frozenset(spec.closed))
