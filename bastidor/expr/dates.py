"""Date functions: building, reading and writing dates, and counting calendar and business days."""

from __future__ import annotations

import datetime
import re
from typing import Any, Iterable

from bastidor.expr.errors import ExpressionEvalError
from bastidor.expr.limits import MAX_BUSINESS_DAYS
from bastidor.expr.taint import is_tainted
from bastidor.expr.values import check_text, describe, require_whole, to_text

_SATURDAY = 5
_DIRECTIVE = re.compile(r"%(.?)")
_FLAGS = "-#_0^:"
DATE_CODES = {
    "d": "day", "m": "month", "Y": "year", "y": "year in 2 digits", "b": "short month name (Jan)",
    "B": "month name (January)", "a": "short weekday name (Mon)", "A": "weekday name (Monday)",
    "j": "day of the year", "H": "hour (24h)", "I": "hour (12h)", "p": "AM/PM", "M": "minute", "S": "second",
    "f": "microsecond", "z": "UTC offset", "Z": "time zone name",
    "w": "weekday number", "u": "ISO weekday", "U": "week of the year", "W": "week (from Monday)",
    "V": "ISO week", "G": "ISO year", "c": "date and time", "x": "date", "X": "time", "%": "a % sign",
}
"""The strftime codes date formats may use, with what each one stands for."""


def make_date(year: Any, month: Any, day: Any) -> datetime.date:
    """The date for a year, month and day: date(2024, 12, 31)."""
    parts = [require_whole(value, f"date(): {name}") for name, value in
             (("year", year), ("month", month), ("day", day))]
    try:
        return datetime.date(*parts)
    except (ValueError, OverflowError):
        raise ExpressionEvalError("date(): there is no such day (check the year, month and day)") from None


def parse_date(text: Any, format: Any = "%Y-%m-%d") -> datetime.date:
    """The date written in `text` using `format` (strftime codes): parse_date("31/12/2024", "%d/%m/%Y")."""
    if not isinstance(text, str):
        raise ExpressionEvalError(f"parse_date() needs text, not {describe(text)}")
    _check_format("parse_date", format)
    try:
        return datetime.datetime.strptime(text.strip(), to_text(format)).date()
    except ValueError:
        raise ExpressionEvalError(f"parse_date(): the text does not match the format {_shown(format)}") from None


def format_date(d: Any, format: Any = "%Y-%m-%d") -> str:
    """The date written with `format` (strftime codes): format_date(d, "%d/%m/%Y") -> "31/12/2024"."""
    day = require_date(d, "format_date")
    _check_format("format_date", format)
    try:
        return check_text(day.strftime(to_text(format)))
    except ValueError:
        raise ExpressionEvalError(f"format_date(): the format {_shown(format)} is not valid") from None


def add_days(d: Any, n: Any) -> datetime.date:
    """The date `n` calendar days after `d` (before it when `n` is negative)."""
    day = require_date(d, "add_days")
    try:
        return day + datetime.timedelta(days=require_whole(n, "add_days(): the number of days"))
    except OverflowError:
        raise ExpressionEvalError("add_days(): the date would be out of range") from None


def add_business_days(d: Any, n: Any, holidays: Any = ()) -> datetime.date:
    """The date `n` business days after `d`, skipping Saturdays, Sundays and `holidays` (n may be negative)."""
    day = require_date(d, "add_business_days")
    steps = require_whole(n, "add_business_days(): the number of days")
    if abs(steps) > MAX_BUSINESS_DAYS:
        raise ExpressionEvalError(f"add_business_days(): at most {MAX_BUSINESS_DAYS:,} days at a time")
    closed = _holiday_set(holidays, "add_business_days")
    direction = datetime.timedelta(days=1 if steps > 0 else -1)
    try:
        for _ in range(abs(steps)):
            day += direction
            while not _is_business_day(day, closed):
                day += direction
    except OverflowError:
        raise ExpressionEvalError("add_business_days(): the date would be out of range") from None
    return day


def business_days_between(a: Any, b: Any, holidays: Any = ()) -> int:
    """Business days after `a` up to and including `b` (negative when `b` is earlier), skipping `holidays`."""
    start, end = require_date(a, "business_days_between"), require_date(b, "business_days_between")
    if end < start:
        return -business_days_between(end, start, holidays)
    closed = _holiday_set(holidays, "business_days_between")
    weeks, extra = divmod((end - start).days, 7)
    count = weeks * 5 + sum(
        1 for offset in range(1, extra + 1) if (start + datetime.timedelta(days=offset)).weekday() < _SATURDAY)
    return count - sum(1 for holiday in closed if start < holiday <= end and holiday.weekday() < _SATURDAY)


def days_between(a: Any, b: Any) -> int:
    """Calendar days from `a` to `b` (negative when `b` is earlier)."""
    return (require_date(b, "days_between") - require_date(a, "days_between")).days


def weekday(d: Any) -> int:
    """The day of the week, Monday = 1 to Sunday = 7."""
    return require_date(d, "weekday").isoweekday()


def date_format_problem(format: str) -> str | None:
    """Why `format` is not a date format (the first unknown code and the valid ones), or None when it is one."""
    for found in _DIRECTIVE.finditer(format):
        code = found.group(1)
        if not code:
            return "ends with a lone '%': write %% for a % sign"
        if code in DATE_CODES:
            continue
        if code in _FLAGS:
            written = format[found.start():found.end() + 1]
            return f"uses '{written}', but flags such as '{code}' are not supported: write the code without it"
        return f"has an unknown code '%{code}'; the codes are: {_codes_list()}"
    return None


def _codes_list() -> str:
    return ", ".join(f"%{code} {meaning}" for code, meaning in DATE_CODES.items())


def _check_format(function: str, format: Any) -> None:
    if not isinstance(format, str):
        raise ExpressionEvalError(f'{function}(): the format must be text such as "%d/%m/%Y", not {describe(format)}')
    problem = date_format_problem(format)
    if problem:
        raise ExpressionEvalError(f"{function}(): the format {_shown(format)} {problem}")


def _shown(format: Any) -> str:
    """The format quoted for an error message, unless it was computed from a secret."""
    return "(computed from a secret)" if is_tainted(format) else f"'{to_text(format)}'"


def require_date(value: Any, function: str) -> datetime.date:
    """`value` as a date (a date-time counts as its day), or an error saying `function` needs a date."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    hint = ": use parse_date(x) to read text" if isinstance(value, str) else ""
    raise ExpressionEvalError(f"{function}() needs a date, not {describe(value)}{hint}")


def _holiday_set(holidays: Any, function: str) -> set[datetime.date]:
    """Holidays given as a list of dates or of ISO texts ("2024-12-25")."""
    if not isinstance(holidays, (list, tuple, set, frozenset)):
        raise ExpressionEvalError(f"{function}(): holidays must be a list of dates")
    return {_holiday(item, function) for item in holidays}


def _holiday(item: Any, function: str) -> datetime.date:
    if isinstance(item, str):
        try:
            return datetime.date.fromisoformat(item.strip())
        except ValueError:
            raise ExpressionEvalError(f"{function}(): holidays written as text must look like 2024-12-25") from None
    return require_date(item, function)


def _is_business_day(day: datetime.date, holidays: Iterable[datetime.date]) -> bool:
    return day.weekday() < _SATURDAY and day not in holidays

