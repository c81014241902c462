"""The table of functions expressions may call, with how each one is written, and the named constants."""

from __future__ import annotations

import datetime
import inspect
from dataclasses import dataclass
from typing import Any, Callable

from bastidor.expr import (
    dates, list_functions as lists, money, number_functions as numbers, patterns, row_functions as row_wise,
    text_functions as texts,
)

NUMBER, TEXT, DATE, FLAG, LIST = "a number", "text", "a date", "true/false", "a list"
"""The kinds of result a function may declare (the words `values.describe` uses)."""


@dataclass(frozen=True)
class Function:
    """A function callable from expressions: its Python implementation, how users write it, and what it gives.

    `gives` is the kind of value it always returns, when there is one (used to find mistakes such as comparing
    text with a number before a flow runs). `rows` marks a function that takes the evaluation's RowRunner
    first, and `row_argument` the position (after the runner) of its row expression. `selects` marks a
    function that only picks or reorders the items of its first argument (a list): its result keeps each
    item's own taint instead of being tainted as a whole.
    """

    implementation: Callable[..., Any]
    usage: str
    gives: str | None = None
    rows: bool = False
    row_argument: int | None = None
    selects: bool = False

    def argument_problem(self, name: str, positional: int, keywords: list[str]) -> str | None:
        """Why a call with this many arguments and these keyword names cannot work, or None when it can."""
        runner = (None,) if self.rows else ()
        try:
            inspect.signature(self.implementation).bind(*runner, *range(positional), **dict.fromkeys(keywords))
        except TypeError:
            return f"wrong arguments for {name}(): write it as {self.usage}"
        return None

    def parameter(self, position: int) -> str:
        """The name of the parameter at `position` (0 for the first argument a flow writes)."""
        names = list(inspect.signature(self.implementation).parameters)
        return names[position + (1 if self.rows else 0)]


def _today() -> datetime.date:
    """Today's date (the evaluator supplies the real one)."""
    return datetime.date.today()


FUNCTIONS: dict[str, Function] = {
    "text": Function(texts.text, "text(x)", TEXT),
    "upper": Function(texts.upper, "upper(x)", TEXT),
    "lower": Function(texts.lower, "lower(x)", TEXT),
    "trim": Function(texts.trim, "trim(x)", TEXT),
    "strip": Function(texts.strip, "strip(text, chars=null)", TEXT),
    "len": Function(texts.length, "len(x)", NUMBER),
    "replace": Function(texts.replace, "replace(text, old, new)", TEXT),
    "contains": Function(texts.contains, "contains(text, part)", FLAG),
    "starts_with": Function(texts.starts_with, "starts_with(text, prefix)", FLAG),
    "ends_with": Function(texts.ends_with, "ends_with(text, suffix)", FLAG),
    "split": Function(texts.split, 'split(text, sep=null)', LIST),
    "join": Function(texts.join, 'join(list, sep=", ")', TEXT),
    "format_number": Function(texts.format_number, 'format_number(x, places=2, thousands=",", decimal=".")', TEXT),
    "pad": Function(texts.pad, 'pad(x, width, fill="0")', TEXT),
    "concat": Function(texts.concat, "concat(a, b, ...)", TEXT),
    "regex_match": Function(patterns.regex_match, "regex_match(text, pattern)", FLAG),
    "regex_find": Function(patterns.regex_find, "regex_find(text, pattern)"),
    "regex_replace": Function(patterns.regex_replace, "regex_replace(text, pattern, replacement)", TEXT),
    "decimal": Function(numbers.to_decimal, "decimal(x)", NUMBER),
    "int": Function(numbers.to_int, "int(x)", NUMBER),
    "bool": Function(numbers.to_bool, "bool(x)", FLAG),
    "parse_number": Function(money.parse_number, 'parse_number(text, decimal=".")', NUMBER),
    "parse_money": Function(money.parse_money, 'parse_money(text, decimal=null)', NUMBER),
    "round": Function(numbers.round_number, 'round(x, places=0, mode="half_even")', NUMBER),
    "min": Function(numbers.minimum, "min(a, b, ...) or min(list)"),
    "max": Function(numbers.maximum, "max(a, b, ...) or max(list)"),
    "sum": Function(numbers.total, "sum(a, b, ...) or sum(list)", NUMBER),
    "abs": Function(numbers.absolute, "abs(x)", NUMBER),
    "count": Function(row_wise.count_rows, 'count(list, condition=null)', NUMBER, rows=True, row_argument=1),
    "any": Function(row_wise.any_row, 'any(list, condition=null)', FLAG, rows=True, row_argument=1),
    "all": Function(row_wise.all_rows, 'all(list, condition=null)', FLAG, rows=True, row_argument=1),
    "filter": Function(row_wise.filter_rows, 'filter(rows, "row.Due > 100")', LIST, rows=True, row_argument=1,
                       selects=True),
    "map": Function(row_wise.map_rows, 'map(list, "parse_money(row.Due)")', LIST, rows=True, row_argument=1,
                    selects=True),
    "add_column": Function(row_wise.add_column, 'add_column(rows, "Amount", "parse_money(row.Due)")', LIST,
                           rows=True, row_argument=2, selects=True),
    "where": Function(lists.where, 'where(rows, "Status", "Open")', LIST, selects=True),
    "pluck": Function(lists.pluck, 'pluck(rows, "Due")', LIST, selects=True),
    "sort_by": Function(lists.sort_by, 'sort_by(rows, "Due", descending=false)', LIST, selects=True),
    "first": Function(lists.first, "first(list)", selects=True),
    "last": Function(lists.last, "last(list)", selects=True),
    "today": Function(_today, "today()", DATE),
    "date": Function(dates.make_date, "date(year, month, day)", DATE),
    "parse_date": Function(dates.parse_date, 'parse_date(text, format="%Y-%m-%d")', DATE),
    "format_date": Function(dates.format_date, 'format_date(d, format="%Y-%m-%d")', TEXT),
    "add_days": Function(dates.add_days, "add_days(d, n)", DATE),
    "add_business_days": Function(dates.add_business_days, "add_business_days(d, n, holidays=[])", DATE),
    "business_days_between": Function(dates.business_days_between, "business_days_between(a, b, holidays=[])",
                                      NUMBER),
    "days_between": Function(dates.days_between, "days_between(a, b)", NUMBER),
    "weekday": Function(dates.weekday, "weekday(d)", NUMBER),
}

FUNCTION_NAMES: frozenset[str] = frozenset(FUNCTIONS)
"""Every function name an expression may call."""

CONSTANTS: dict[str, Any] = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
CONSTANT_NAMES: frozenset[str] = frozenset(CONSTANTS)
"""Names that stand for fixed values rather than variables."""
