"""Loads `schedules.yaml`: safe YAML, then defaults, calendars and every entry checked.

All problems in the file are collected and raised together as one FlowValidationError, each as
`file:line:column: message`, the same way flow files are reported. The format is described in
`bastidor.schedule.fileformat` and docs/schedules.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bastidor.flow.diagnostics import Diagnostic, FlowValidationError
from bastidor.flow.yamlsource import YamlDocument, load_yaml
from bastidor.schedule.entries import build_schedule
from bastidor.schedule.mail_accounts import read_mail_accounts
from bastidor.schedule.fileformat import CalendarFile, SchedulesFile, SettingsFile
from bastidor.schedule.model import Schedule, ScheduleSet
from bastidor.schedule.problems import Problems
from bastidor.schedule.settings import LoadContext, Settings, build_calendar, resolve_settings

_EMPTY = "the file is empty: a schedules file needs a `schedules:` list (see docs/schedules.md)"


def load_schedules(path: Path | str) -> ScheduleSet:
    """Load and check a schedules file, or raise FlowValidationError listing every problem."""
    path = Path(path)
    document = _load_document(path)
    context = LoadContext(Problems(document.source), path.resolve().parent)
    schedules = _read(document.data, context)
    if context.problems.items:
        raise FlowValidationError(context.problems.items)
    return ScheduleSet(path.resolve(), document.sha256, schedules, dict(context.calendars),
                       dict(context.mail_accounts))


def _load_document(path: Path) -> YamlDocument:
    try:
        return load_yaml(path, _EMPTY)
    except FlowValidationError as error:
        raise FlowValidationError(_reworded(d) for d in error.diagnostics) from None


def _reworded(diagnostic: Diagnostic) -> Diagnostic:
    """An unquoted cron expression starts with *, which YAML takes for an alias: say how to write it."""
    if "while scanning an alias" in diagnostic.message:
        return Diagnostic(diagnostic.file, diagnostic.line, diagnostic.column,
                          f"{diagnostic.message}: a value starting with * must be quoted, "
                          "e.g. cron: \"*/5 * * * *\"")
    return diagnostic


def _read(data: Any, context: LoadContext) -> list[Schedule]:
    problems = context.problems
    if not isinstance(data, dict):
        problems.add((), "a schedules file holds `schedules:` (and optionally `defaults:`, `calendars:`, "
                     "`mail_accounts:` and `secrets:`) at the top, not a list or a single value")
        return []
    problems.validate(SchedulesFile, data, (), "the schedules file")
    context.secrets = {name for name in _part(data, "secrets", list) if isinstance(name, str)}
    read_mail_accounts(_part(data, "mail_accounts", dict), context)
    _read_calendars(_part(data, "calendars", dict), context)
    defaults = _read_defaults(_part(data, "defaults", dict), context)
    entries = _part(data, "schedules", list)
    built = [build_schedule(raw, index, defaults, context) for index, raw in enumerate(entries)]
    return [schedule for schedule in built if schedule is not None]


def _part(data: dict, key: str, kind: type) -> Any:
    value = data.get(key)
    return value if isinstance(value, kind) else kind()


def _read_calendars(written: dict, context: LoadContext) -> None:
    for name, raw in written.items():
        loc = ("calendars", name)
        spec = context.problems.validate(CalendarFile, raw, loc, f"calendar '{name}'")
        calendar = build_calendar(str(name), spec, context.problems, loc) if spec else None
        if calendar is None:
            context.broken_calendars.add(name)
        else:
            context.calendars[name] = calendar


def _read_defaults(raw: dict, context: LoadContext) -> Settings:
    before = len(context.problems.items)
    written = context.problems.validate(SettingsFile, raw, ("defaults",), "defaults")
    if written is None:
        return Settings(broken=True)
    base = Settings(broken=len(context.problems.items) > before)
    return resolve_settings(written, raw, base, context, ("defaults",))
