"""Functions that run a row expression on each item of a list: filter, map, any, all, count and add_column.

Each takes the evaluation's RowRunner first (the evaluator passes it; flows never write it), then the list, then
the row expression as text: filter(rows, "row.Due > 100"). Inside the row expression the item is named `row`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bastidor.expr.errors import ExpressionEvalError
from bastidor.expr.list_functions import require_list
from bastidor.expr.records import require_record
from bastidor.expr.rows import RowRunner
from bastidor.expr.values import describe


def filter_rows(runner: RowRunner, rows: Any, condition: Any) -> list:
    """The items for which the condition is true: filter(rows, "row.Due > 100")."""
    return [item for item, holds in runner.truths("filter", require_list(rows, "filter"), condition) if holds]


def map_rows(runner: RowRunner, values: Any, expression: Any) -> list:
    """The value of the expression for each item: map(rows, "parse_money(row.Due)")."""
    results = []
    for _, _, value in runner.results("map", require_list(values, "map"), expression):
        runner.budget.spend_characters("map", value)
        results.append(value)
    return results


def any_row(runner: RowRunner, values: Any, condition: Any = None) -> bool:
    """Whether at least one item is true, or, with a condition, makes it true: any(rows, "row.Due > 100")."""
    items = require_list(values, "any")
    if condition is None:
        return any(_item_truth("any", position, item) for position, item in enumerate(items, 1))
    return any(holds for _, holds in runner.truths("any", items, condition))


def all_rows(runner: RowRunner, values: Any, condition: Any = None) -> bool:
    """Whether every item is true, or, with a condition, makes it true (true for an empty list)."""
    items = require_list(values, "all")
    if condition is None:
        return all(_item_truth("all", position, item) for position, item in enumerate(items, 1))
    return all(holds for _, holds in runner.truths("all", items, condition))


def count_rows(runner: RowRunner, values: Any, condition: Any = None) -> int:
    """How many items the list has, or, with a condition, how many make it true: count(rows, "row.Paid")."""
    if isinstance(values, (str, Mapping)):
        raise ExpressionEvalError(f"count() counts the items of a list, not {describe(values)}: for the length of "
                                  "text or the number of fields of a record, use len(x)")
    items = require_list(values, "count")
    if condition is None:
        return len(items)
    return sum(1 for _, holds in runner.truths("count", items, condition) if holds)


def add_column(runner: RowRunner, rows: Any, name: Any, expression: Any) -> list:
    """Each row with one more field, worked out by the expression (a field of that name is replaced):
    add_column(rows, "Amount", "parse_money(row.Due)")."""
    if not isinstance(name, str) or not name:
        raise ExpressionEvalError(f"add_column(): the field name must be text, not {describe(name)}")
    items = require_list(rows, "add_column")
    for position, row in enumerate(items, 1):
        require_record(row, "add_column", position)
    results = []
    for _, row, value in runner.results("add_column", items, expression):
        runner.budget.spend_characters("add_column", value)
        results.append({**row, name: value})
    return results


def _item_truth(function: str, position: int, item: Any) -> bool:
    """An item of a list given to any() or all() without a condition: true, false or null (false)."""
    if item is None or isinstance(item, bool):
        return bool(item)
    raise ExpressionEvalError(f"{function}(): item {position} of the list is {describe(item)}, not true or false: "
                              f'give a condition, for example {function}(rows, "row.Due > 100")')
