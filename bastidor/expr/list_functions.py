"""Functions on lists of values and of rows (records): pluck, where, sort_by, first and last.

A row is a record, such as a row read by extract_table, read_excel or read_csv. These functions pick or
reorder the items of a list without changing them, so each item keeps its own taint (see `bastidor.expr.taint`).
"""

from __future__ import annotations

from typing import Any

from bastidor.expr.comparisons import equals
from bastidor.expr.errors import ExpressionEvalError
from bastidor.expr.money import reads_as_number
from bastidor.expr.records import row_field
from bastidor.expr.taint import is_tainted
from bastidor.expr.values import as_number, describe, quoted, to_text



def require_list(value: Any, function: str) -> list | tuple:
    """`value` when it is a list, or an error saying that `function` needs one."""
    if isinstance(value, (list, tuple)):
        return value
    hint = " (read it first with extract_table, read_excel or read_csv)" if value is None else ""
    if isinstance(value, str):
        hint = ': to cut text into a list, use split(text, ",")'
    raise ExpressionEvalError(f"{function}() needs a list, not {describe(value)}{hint}")


def require_flag(value: Any, what: str) -> bool:
    """`value` when it is true or false, or an error naming `what` it was for."""
    if isinstance(value, bool):
        return value
    raise ExpressionEvalError(f"{what} must be true or false, not {describe(value)}")


def pluck(rows: Any, field: Any) -> list:
    """The value of one field from every row: pluck(rows, "Due") -> ["10.00", "25.50"]."""
    return [row_field(row, field, "pluck", position) for position, row in enumerate(require_list(rows, "pluck"), 1)]


def where(rows: Any, field: Any, value: Any) -> list:
    """The rows whose `field` equals `value`: where(rows, "Status", "Open")."""
    items = require_list(rows, "where")
    found = [row for position, row in enumerate(items, 1) if equals(row_field(row, field, "where", position), value)]
    if not found and as_number(value) is not None:
        _refuse_text_numbers(items, field, value)
    return found


def _refuse_text_numbers(rows: list | tuple, field: Any, value: Any) -> None:
    """No row matched a number: say so when the field holds numbers written as text, which never equal one."""
    for position, row in enumerate(rows, 1):
        cell = row_field(row, field, "where", position)
        if isinstance(cell, str) and reads_as_number(cell):
            raise ExpressionEvalError(
                f"where(): no row matched the number {_plain(value)} because the '{field}' values are text (row "
                f"{position}: {quoted(cell)}), and text never equals a number: write the value as text, "
                f'where(rows, "{field}", "{value}"), or read the column as numbers with add_column')


def sort_by(rows: Any, field: Any, descending: Any = False) -> list:
    """The rows ordered by one field; rows with equal values keep their order, empty values (null) go last."""
    items = require_list(rows, "sort_by")
    backwards = require_flag(descending, "sort_by(): descending")
    keyed = [(row_field(row, field, "sort_by", position), row) for position, row in enumerate(items, 1)]
    present = [(key, row) for key, row in keyed if key is not None]
    empty = [row for key, row in keyed if key is None]
    _check_sortable(field, [key for key, _ in present])
    try:
        present.sort(key=lambda pair: _sort_key(pair[0]), reverse=backwards)
    except TypeError:
        raise ExpressionEvalError(f"sort_by(): the '{field}' values cannot be put in order "
                                  "(dates with and without a time cannot be mixed)") from None
    return [row for _, row in present] + empty


def _check_sortable(field: Any, keys: list) -> None:
    kinds: dict[str, Any] = {}
    for key in keys:
        kinds.setdefault(describe(key), key)
    if len(kinds) > 1:
        (kind_a, one), (kind_b, other) = list(kinds.items())[:2]
        raise ExpressionEvalError(
            f"sort_by(): the '{field}' values are of different kinds ({kind_a}, such as {quoted(one)}, and "
            f"{kind_b}, such as {quoted(other)}), which cannot be put in one order: make them one kind first, "
            f"for example {_convert_hint(field)}")
    unsortable = set(kinds) - {"a number", "text", "a date", "true/false"}
    if unsortable:
        raise ExpressionEvalError(f"sort_by(): cannot sort by '{field}': it holds {unsortable.pop()}")
    numeric = next((key for key in keys if isinstance(key, str) and reads_as_number(key)), None)
    if numeric is not None:
        raise ExpressionEvalError(
            f"sort_by(): the '{field}' values are numbers written as text (such as {quoted(numeric)}), which would "
            f'sort as text ("10" before "9"): read them as numbers first, for example '
            f'sort_by({_convert_hint(field)}, "{field}")')


def _convert_hint(field: Any) -> str:
    return f'add_column(rows, "{field}", "parse_money(row[\'{field}\'])")'


def _plain(value: Any) -> str:
    return quoted(value) if is_tainted(value) else to_text(value)


def _sort_key(key: Any) -> Any:
    number = as_number(key)
    return key if number is None else number


def first(values: Any) -> Any:
    """The first item of a list, or null when the list is empty."""
    items = require_list(values, "first")
    return items[0] if items else None


def last(values: Any) -> Any:
    """The last item of a list, or null when the list is empty."""
    items = require_list(values, "last")
    return items[-1] if items else None
