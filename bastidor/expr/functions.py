"""The table of functions expressions may call, with how each one is written, and the named constants."""

from __future__ import annotations

import datetime
import inspect
from dataclasses import dataclass
from typing import Any, Callable

from bastidor.expr import dates, number_functions as numbers, text_functions as texts


@dataclass(frozen=True)
class Function:
    """A function callable from expressions: its Python implementation and how users write it."""

    implementation: Callable[..., Any]
    usage: str

    def argument_problem(self, name: str, positional: int, keywords: list[str]) -> str | None:
        """Why a call with this many arguments and these keyword names cannot work, or None when it can."""
        try:
            inspect.signature(self.implementation).bind(*range(positional), **dict.fromkeys(keywords))
        except TypeError:
            return f"wrong arguments for {name}(): write it as {self.usage}"
        return None


def _today() -> datetime.date:
    """Today's date (the evaluator supplies the real one)."""
    return datetime.date.today()


FUNCTIONS: dict[str, Function] = {
    "text": Function(texts.text, "text(x)"),
    "upper": Function(texts.upper, "upper(x)"),
    "lower": Function(texts.lower, "lower(x)"),
    "trim": Function(texts.trim, "trim(x)"),
    "len": Function(texts.length, "len(x)"),
    "replace": Function(texts.replace, "replace(text, old, new)"),
    "contains": Function(texts.contains, "contains(text, part)"),
    "starts_with": Function(texts.starts_with, "starts_with(text, prefix)"),
    "ends_with": Function(texts.ends_with, "ends_with(text, suffix)"),
    "format_number": Function(texts.format_number, 'format_number(x, places=2, thousands=",", decimal=".")'),
    "pad": Function(texts.pad, 'pad(x, width, fill="0")'),
    "concat": Function(texts.concat, "concat(a, b, ...)"),
    "decimal": Function(numbers.to_decimal, "decimal(x)"),
    "int": Function(numbers.to_int, "int(x)"),
    "bool": Function(numbers.to_bool, "bool(x)"),
    "round": Function(numbers.round_number, 'round(x, places=0, mode="half_even")'),
    "min": Function(numbers.minimum, "min(a, b, ...) or min(list)"),
    "max": Function(numbers.maximum, "max(a, b, ...) or max(list)"),
    "sum": Function(numbers.total, "sum(a, b, ...) or sum(list)"),
    "abs": Function(numbers.absolute, "abs(x)"),
    "today": Function(_today, "today()"),
    "date": Function(dates.make_date, "date(year, month, day)"),
    "parse_date": Function(dates.parse_date, 'parse_date(text, format="%Y-%m-%d")'),
    "format_date": Function(dates.format_date, 'format_date(d, format="%Y-%m-%d")'),
    "add_days": Function(dates.add_days, "add_days(d, n)"),
    "add_business_days": Function(dates.add_business_days, "add_business_days(d, n, holidays=[])"),
    "business_days_between": Function(dates.business_days_between, "business_days_between(a, b, holidays=[])"),
    "days_between": Function(dates.days_between, "days_between(a, b)"),
    "weekday": Function(dates.weekday, "weekday(d)"),
}

FUNCTION_NAMES: frozenset[str] = frozenset(FUNCTIONS)
"""Every function name an expression may call."""

CONSTANTS: dict[str, Any] = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
CONSTANT_NAMES: frozenset[str] = frozenset(CONSTANTS)
"""Names that stand for fixed values rather than variables."""
