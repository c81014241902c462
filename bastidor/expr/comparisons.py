"""Comparisons, membership (`in`) and `not`, refusing to order values of different kinds."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from bastidor.expr.errors import ExpressionEvalError
from bastidor.expr.values import as_number, describe

Comparison = Callable[[Any, Any], bool]


def equals(left: Any, right: Any) -> bool:
    """`left == right`, comparing numbers exactly whatever their form (2 == 2.0)."""
    x, y = as_number(left), as_number(right)
    if x is not None and y is not None:
        return x == y
    return left == right


def not_equals(left: Any, right: Any) -> bool:
    """`left != right`."""
    return not equals(left, right)


def _ordering(compare: Comparison, symbol: str) -> Comparison:
    """A `<`-style comparison that works on two numbers, two texts or two dates, and explains anything else."""

    def run(left: Any, right: Any) -> bool:
        x, y = as_number(left), as_number(right)
        if x is not None and y is not None:
            return compare(x, y)
        if describe(left) != describe(right):
            raise _cannot_compare(symbol, left, right)
        try:
            return compare(left, right)
        except TypeError:
            raise _cannot_compare(symbol, left, right) from None

    run.__doc__ = f"`left {symbol} right` for two values of the same kind."
    return run


def _cannot_compare(symbol: str, left: Any, right: Any) -> ExpressionEvalError:
    message = f"cannot compare {describe(left)} with {describe(right)} using {symbol}"
    kinds = {describe(left), describe(right)}
    if kinds == {"text", "a number"}:
        return ExpressionEvalError(f"{message}: use decimal(x) or parse_number(x) to read text as a number")
    if kinds == {"text", "a date"}:
        return ExpressionEvalError(f"{message}: use parse_date(x) to read text as a date")
    return ExpressionEvalError(message)


less = _ordering(operator.lt, "<")
less_or_equal = _ordering(operator.le, "<=")
greater = _ordering(operator.gt, ">")
greater_or_equal = _ordering(operator.ge, ">=")


def is_in(item: Any, container: Any) -> bool:
    """`item in container`: part of a text, an item of a list, or a key of a record."""
    if isinstance(container, str):
        if not isinstance(item, str):
            raise ExpressionEvalError(f"cannot look for {describe(item)} inside text: use text(x)")
        return item in container
    if isinstance(container, (list, tuple)):
        return any(equals(item, element) for element in container)
    if isinstance(container, Mapping):
        try:
            return item in container
        except TypeError:
            return False
    raise ExpressionEvalError(f"'in' needs text, a list or a record on its right, not {describe(container)}")


def is_not_in(item: Any, container: Any) -> bool:
    """`item not in container`."""
    return not is_in(item, container)


def logical_not(value: Any) -> bool:
    """`not value`: true for false, null, zero, empty text and empty lists."""
    return not value
