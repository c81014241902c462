"""Reading a field of a record, with an error that names the fields the record does have."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bastidor.expr.errors import ExpressionEvalError, did_you_mean
from bastidor.expr.taint import is_tainted
from bastidor.expr.values import describe

_SHOWN_KEY_LENGTH = 60
_LISTED_FIELDS = 20


def field_of(record: Mapping, key: Any) -> Any:
    """`record[key]`, or an error naming the missing field, the nearest existing one and the fields there are."""
    try:
        if key in record:
            return record[key]
    except TypeError:
        raise ExpressionEvalError(f"record keys are text or numbers, not {describe(key)}") from None
    raise ExpressionEvalError(missing_field(record, key))


def missing_field(record: Mapping, key: Any) -> str:
    """Why `key` cannot be read from `record`; names computed from a secret are never shown."""
    if is_tainted(key):
        return ("the record has no field of that name (the name was computed from a secret, so it is not shown; "
                f"{fields_list(record)})")
    shown = str(key)[:_SHOWN_KEY_LENGTH]
    names = [name for name in record if isinstance(name, str) and not is_tainted(name)]
    hint = did_you_mean(shown, names) if isinstance(key, str) else ""
    return f"the record has no field '{shown}'{hint} ({fields_list(record)})"


def fields_list(record: Mapping) -> str:
    """"its fields are: 'a', 'b'" (the first twenty, secret names left out), or "it has no fields"."""
    if not record:
        return "it has no fields"
    shown = [repr(str(name)[:_SHOWN_KEY_LENGTH]) for name in record if not is_tainted(name)][:_LISTED_FIELDS]
    hidden = len(record) - len(shown)
    more = f" and {hidden} more" if hidden else ""
    if not shown:
        return f"it has {len(record)} field{'s' if len(record) != 1 else ''} (not shown: computed from a secret)"
    return f"its fields are: {', '.join(shown)}{more}"


def require_record(value: Any, function: str, position: int) -> Mapping:
    """`value` when it is a record, or an error saying that item `position` (from 1) of the list is not one."""
    if isinstance(value, Mapping):
        return value
    raise ExpressionEvalError(f"{function}(): item {position} of the list is {describe(value)}, not a record "
                              "(a row with named fields, such as the rows read by extract_table or read_excel)")


def row_field(row: Any, field: Any, function: str, position: int) -> Any:
    """Field `field` of row number `position` (from 1) of a list given to `function`."""
    record = require_record(row, function, position)
    try:
        return field_of(record, field)
    except ExpressionEvalError as error:
        raise ExpressionEvalError(f"{function}(): row {position}: {error.message}") from None
