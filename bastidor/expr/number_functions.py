"""Functions on numbers: conversions, rounding with an explicit mode, min, max, sum and abs."""

from __future__ import annotations

from decimal import (
    ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal, DecimalException,
)
from typing import Any

from bastidor.expr.comparisons import less
from bastidor.expr.errors import ExpressionEvalError, did_you_mean
from bastidor.expr.limits import MAX_PLACES
from bastidor.expr.money import reads_as_number
from bastidor.expr.values import Number, as_number, describe, quoted, require_number, require_whole

ROUNDING_MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "down": ROUND_DOWN,
    "up": ROUND_UP,
    "floor": ROUND_FLOOR,
    "ceiling": ROUND_CEILING,
}
_TRUE_WORDS = frozenset({"true", "yes", "y", "1", "on"})
_FALSE_WORDS = frozenset({"false", "no", "n", "0", "off", ""})
_MAX_INTEGER_DIGITS = 4_000


def to_decimal(x: Any) -> Decimal:
    """`x` (text, whole number or decimal) as an exact decimal number: decimal("12.50") -> 12.50."""
    if isinstance(x, str):
        return _parse_decimal(x)
    number = as_number(x)
    if number is None:
        raise ExpressionEvalError(f"decimal() cannot turn {describe(x)} into a number")
    return Decimal(number)


def _parse_decimal(text: str) -> Decimal:
    try:
        number = Decimal(text.strip())
    except DecimalException:
        number = None
    if number is None or not number.is_finite():
        raise ExpressionEvalError("decimal(): the text is not a number (write it like 1234.56, without separators)")
    return number


def to_int(x: Any) -> int:
    """`x` as a whole number, dropping any decimals: int("12.9") -> 12."""
    if isinstance(x, bool):
        return int(x)
    number = _parse_decimal(x) if isinstance(x, str) else as_number(x)
    if number is None:
        raise ExpressionEvalError(f"int() cannot turn {describe(x)} into a number")
    if isinstance(number, Decimal) and (not number.is_finite() or number.adjusted() > _MAX_INTEGER_DIGITS):
        raise ExpressionEvalError("int(): the number is too large")
    return int(number)


def to_bool(x: Any) -> bool:
    """`x` as true/false; text must be a word such as true/false, yes/no, 1/0."""
    if isinstance(x, str):
        word = x.strip().lower()
        if word in _TRUE_WORDS or word in _FALSE_WORDS:
            return word in _TRUE_WORDS
        raise ExpressionEvalError("bool(): the text is not a yes/no value (use true/false, yes/no or 1/0)")
    return bool(x)


def round_number(x: Any, places: Any = 0, mode: Any = "half_even") -> Decimal:
    """`x` rounded to `places` decimals with the named mode: round(2.675, 2, "half_up") -> 2.68."""
    number = Decimal(require_number(x, "round"))
    problem = rounding_mode_problem(mode)
    if problem:
        raise ExpressionEvalError(problem)
    rounding = ROUNDING_MODES[mode]
    digits = require_whole(places, "round(): places")
    if abs(digits) > MAX_PLACES:
        raise ExpressionEvalError(f"round(): places must be between -{MAX_PLACES} and {MAX_PLACES}")
    try:
        return number.quantize(Decimal(1).scaleb(-digits), rounding=rounding)
    except DecimalException:
        raise ExpressionEvalError("round(): the number has too many digits to round that way") from None


def rounding_mode_problem(mode: Any) -> str | None:
    """Why `mode` is not a rounding mode (with the nearest one and the list), or None when it is one."""
    if isinstance(mode, str) and mode in ROUNDING_MODES:
        return None
    valid = ", ".join(f'"{name}"' for name in ROUNDING_MODES)
    hint = did_you_mean(mode.replace("-", "_").replace(" ", "_"), ROUNDING_MODES) if isinstance(mode, str) else ""
    hint = hint or (did_you_mean(mode, ROUNDING_MODES) if isinstance(mode, str) else "")
    return f"round(): unknown rounding mode {quoted(mode)}{hint}{' The' if hint else '; the'} modes are {valid}"


def minimum(*values: Any) -> Any:
    """The smallest of the values, or of one list: min(a, b) or min(list)."""
    return _extreme("min", values, lambda candidate, best: less(candidate, best))


def maximum(*values: Any) -> Any:
    """The largest of the values, or of one list: max(a, b) or max(list)."""
    return _extreme("max", values, lambda candidate, best: less(best, candidate))


def _extreme(name: str, values: tuple, better: Any) -> Any:
    items = _items(values)
    if not items:
        raise ExpressionEvalError(f"{name}() needs at least one value")
    _refuse_numbers_as_text(name, items)
    best = items[0]
    for item in items[1:]:
        if better(item, best):
            best = item
    number = as_number(best)
    return best if number is None else number


def total(*values: Any) -> Number:
    """The sum of the numbers given, or of one list of numbers; the sum of an empty list is 0."""
    result: Number = 0
    for position, item in enumerate(_items(values), 1):
        number = as_number(item)
        if number is None:
            raise ExpressionEvalError(f"sum() can only add numbers, but item {position} is {_shown_item(item)}"
                                      f"{_sum_hint(item)}")
        result += number
    return result


def _shown_item(item: Any) -> str:
    if isinstance(item, str):
        return f"text ({quoted(item)})"
    return describe(item)


def _sum_hint(item: Any) -> str:
    if item is None:
        return ': leave out the empty rows first, for example filter(rows, "row.Due != null")'
    if isinstance(item, str):
        return (': read the texts as numbers first, for example sum(map(values, "parse_number(row)")), or '
                'parse_money(row) for amounts with a currency, or decimal(x) for one value')
    return ""


def _refuse_numbers_as_text(name: str, items: list | tuple) -> None:
    """Texts that read as numbers would be compared as text ("10" < "9"): refuse them with the fix."""
    for position, item in enumerate(items, 1):
        if isinstance(item, str) and reads_as_number(item):
            raise ExpressionEvalError(
                f"{name}(): item {position} is a number written as text ({quoted(item)}), which would be compared "
                f'as text ("10" before "9"): read the texts as numbers first, for example '
                f'{name}(map(values, "parse_number(row)")), or parse_money(row) for amounts with a currency')


def absolute(x: Any) -> Number:
    """The number without its sign: abs(-3.5) -> 3.5."""
    return abs(require_number(x, "abs"))


def _items(values: tuple) -> list | tuple:
    if len(values) == 1 and isinstance(values[0], (list, tuple)):
        return values[0]
    return values
