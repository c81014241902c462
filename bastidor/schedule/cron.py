"""Classic five-field cron expressions, checked field by field and turned into APScheduler fields.

Weekdays follow classic crontab: 0 and 7 are Sunday, 1 is Monday (APScheduler 3 numbers them from
Monday = 0, so the weekday field is translated here rather than passed through). Each field is
expanded to the exact set of values it allows, so APScheduler receives plain lists of numbers.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

from bastidor.flow.diagnostics import did_you_mean

FIELDS = ("minute", "hour", "day", "month", "day_of_week")
_LABELS = {"minute": "minute", "hour": "hour", "day": "day of month", "month": "month",
           "day_of_week": "weekday"}
_BOUNDS = {"minute": (0, 59), "hour": (0, 23), "day": (1, 31), "month": (1, 12), "day_of_week": (0, 7)}
_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_NAMES = {"month": _MONTHS, "day_of_week": _WEEKDAYS}
_TOKEN = re.compile(r"^(?:(?P<all>\*)|(?P<first>\w+)(?:-(?P<last>\w+))?)(?:/(?P<step>\w+))?$")
MACROS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
          "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *",
          "@annually": "0 0 1 1 *"}
_SYNTAX = "use *, a number, a range like 1-5, a list like 1,15 or a step like */5"


class CronError(ValueError):
    """A cron expression is not valid; `offset` is where in the expression the problem starts."""

    def __init__(self, message: str, offset: int = 0):
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class CronFields:
    """A checked cron expression as APScheduler CronTrigger keyword arguments."""

    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str

    def as_kwargs(self) -> dict[str, str]:
        """The fields as keyword arguments for `CronTrigger(...)`."""
        return {name: getattr(self, name) for name in FIELDS}

    @property
    def fixed_hours(self) -> bool:
        """True when the hour field names particular hours (not `*`)."""
        return self.hour != "*"


def parse_cron(expression: str) -> CronFields:
    """Check a crontab expression (`min hour day month weekday`, or a macro such as @daily)."""
    text = expression
    shortcut = expression.strip().lower()
    if shortcut.startswith("@"):
        if shortcut not in MACROS:
            raise CronError(f"unknown cron shortcut '{expression.strip()}'{did_you_mean(shortcut, MACROS)}")
        text = MACROS[shortcut]
    parts = [(match.start(), match.group()) for match in re.finditer(r"\S+", text)]
    if len(parts) != 5:
        raise CronError(_count_message(len(parts)))
    values = {name: _field_values(name, written, offset) for name, (offset, written) in zip(FIELDS, parts)}
    _check_possible(values["day"], values["month"], parts[2][0])
    return CronFields(**{name: _apscheduler_text(name, found) for name, found in values.items()})


def _count_message(count: int) -> str:
    hint = ": seconds are not supported, remove the first field" if count == 6 else ""
    return (f"a cron expression has 5 fields (minute hour day-of-month month weekday), "
            f"e.g. \"*/5 * * * 1-5\"; this one has {count}{hint}")


def _field_values(name: str, written: str, offset: int) -> set[int]:
    found: set[int] = set()
    position = offset
    for token in written.split(","):
        found |= _token_values(name, token, position)
        position += len(token) + 1
    return found


def _token_values(name: str, token: str, offset: int) -> set[int]:
    label = _LABELS[name]
    match = _TOKEN.match(token)
    if not match:
        raise CronError(f"cron {label} '{token}' is not understood: {_SYNTAX}", offset)
    low, high = _BOUNDS[name]
    if match["all"]:
        first, last = low, high
    else:
        first = _value(name, match["first"], offset)
        last = _value(name, match["last"], offset) if match["last"] else (high if match["step"] else first)
    step = _step(match["step"], label, token, offset)
    if first > last:
        raise CronError(f"cron {label} range '{token}' goes backwards: write the lower value first", offset)
    return set(range(first, last + 1, step))


def _value(name: str, written: str, offset: int) -> int:
    label = _LABELS[name]
    low, high = _BOUNDS[name]
    if written.isdigit():
        number = int(written)
        if not low <= number <= high:
            raise CronError(f"cron {label} {number} is out of range: use {low} to {high}"
                            + (" (0 and 7 are Sunday)" if name == "day_of_week" else ""), offset)
        return number
    names = _NAMES.get(name, {})
    if written.lower() in names:
        return names[written.lower()]
    hint = did_you_mean(written.lower(), names) if names else ""
    raise CronError(f"cron {label} '{written}' is not a number{' or a name' if names else ''}"
                    f"{hint or ': ' + _SYNTAX}", offset)


def _step(written: str | None, label: str, token: str, offset: int) -> int:
    if written is None:
        return 1
    if not written.isdigit() or int(written) < 1:
        raise CronError(f"cron {label} '{token}': the step after / must be a whole number of at least 1",
                        offset)
    return int(written)


def _check_possible(days: set[int], months: set[int], offset: int) -> None:
    longest = max(calendar.monthrange(2024, month)[1] for month in months)
    if min(days) > longest:
        names = ", ".join(calendar.month_name[m] for m in sorted(months))
        raise CronError(f"cron never fires: day {min(days)} does not occur in {names}", offset)


def _apscheduler_text(name: str, found: set[int]) -> str:
    low, high = _BOUNDS[name]
    if name == "day_of_week":
        found = {(day - 1) % 7 for day in found}
        low, high = 0, 6
    if found == set(range(low, high + 1)):
        return "*"
    return ",".join(str(value) for value in sorted(found))
