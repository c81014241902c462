"""Arithmetic on numbers and text: exact Decimal results, bounded sizes, errors in plain words."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Any

from bastidor.expr.errors import ExpressionEvalError
from bastidor.expr.limits import MAX_EXPONENT, MAX_INTEGER_BITS, MAX_TEXT_LENGTH
from bastidor.expr.values import Number, as_number, describe, require_whole, text_too_long


def mismatch(verb: str, left: Any, right: Any) -> ExpressionEvalError:
    """The error for an operation that does not apply to these two kinds of values, with a likely fix."""
    kinds = {describe(left), describe(right)}
    message = f"cannot {verb} {describe(left)} and {describe(right)}"
    if kinds == {"text", "a number"}:
        return ExpressionEvalError(f"{message}: use text(x) or decimal(x)")
    if "a date" in kinds and verb in ("add", "subtract"):
        return ExpressionEvalError(f"{message}: use add_days(d, n) or days_between(a, b)")
    if "an empty value (null)" in kinds:
        return ExpressionEvalError(f"{message}: the value is empty, check that it was filled in")
    return ExpressionEvalError(message)


def add(left: Any, right: Any) -> Any:
    """`left + right` for numbers (exact) and text (joined)."""
    if isinstance(left, str) and isinstance(right, str):
        if len(left) + len(right) > MAX_TEXT_LENGTH:
            raise text_too_long()
        return left + right
    x, y = _numbers("add", left, right)
    return _bounded(x + y)


def subtract(left: Any, right: Any) -> Number:
    """`left - right` for numbers."""
    x, y = _numbers("subtract", left, right)
    return _bounded(x - y)


def multiply(left: Any, right: Any) -> Any:
    """`left * right` for numbers, or text repeated a whole number of times."""
    if isinstance(left, str) or isinstance(right, str):
        return _repeat_text(left, right)
    x, y = _numbers("multiply", left, right)
    return _bounded(x * y)


def divide(left: Any, right: Any) -> Decimal:
    """`left / right`, always an exact Decimal (7 / 2 is 3.5)."""
    x, y = _numbers("divide", left, right)
    _refuse_zero(y)
    return Decimal(x) / Decimal(y)


def floor_divide(left: Any, right: Any) -> Number:
    """`left // right`: the quotient rounded down to a whole number."""
    x, y = _numbers("divide", left, right)
    _refuse_zero(y)
    if isinstance(x, int) and isinstance(y, int):
        return x // y
    return (Decimal(x) / Decimal(y)).to_integral_value(rounding=ROUND_FLOOR)


def modulo(left: Any, right: Any) -> Number:
    """`left % right`: the remainder after `//`, with the sign of `right` (as for whole numbers)."""
    x, y = _numbers("divide", left, right)
    _refuse_zero(y)
    if isinstance(x, int) and isinstance(y, int):
        return x % y
    return x - y * floor_divide(x, y)


def power(left: Any, right: Any) -> Number:
    """`left ** right` with a bounded exponent; negative or fractional powers give a Decimal."""
    base, exponent = _numbers("raise", left, right)
    if abs(exponent) > MAX_EXPONENT:
        raise ExpressionEvalError(f"the power after ** is too large: at most {MAX_EXPONENT}")
    if isinstance(base, int) and isinstance(exponent, int) and exponent >= 0:
        if base.bit_length() * exponent > MAX_INTEGER_BITS:
            raise ExpressionEvalError("the result of ** would be too large")
        return base**exponent
    if base == 0 and exponent < 0:
        raise ExpressionEvalError("division by zero")
    return Decimal(base) ** Decimal(exponent)


def negate(value: Any) -> Number:
    """`-value` for a number."""
    number = as_number(value)
    if number is None:
        raise ExpressionEvalError(f"cannot put a minus sign before {describe(value)}")
    return -number


def positive(value: Any) -> Number:
    """`+value` for a number."""
    number = as_number(value)
    if number is None:
        raise ExpressionEvalError(f"cannot put a plus sign before {describe(value)}")
    return number


def _numbers(verb: str, left: Any, right: Any) -> tuple[Number, Number]:
    x, y = as_number(left), as_number(right)
    if x is None or y is None:
        raise mismatch(verb, left, right)
    return x, y


def _refuse_zero(divisor: Number) -> None:
    if divisor == 0:
        raise ExpressionEvalError("division by zero")


def _bounded(result: Number) -> Number:
    if isinstance(result, int) and result.bit_length() > MAX_INTEGER_BITS:
        raise ExpressionEvalError("the number is too large")
    return result


def _repeat_text(left: Any, right: Any) -> str:
    text, count = (left, right) if isinstance(left, str) else (right, left)
    if isinstance(count, str) or as_number(count) is None:
        raise mismatch("multiply", left, right)
    times = require_whole(count, "the number of times text is repeated")
    if times > 0 and len(text) * times > MAX_TEXT_LENGTH:
        raise text_too_long()
    return text * times
