"""The kinds of values expressions work with, and how each one is shown as text."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bastidor.expr.errors import ExpressionEvalError
from bastidor.expr.limits import MAX_TEXT_LENGTH
from bastidor.expr.taint import Tainted, TaintedText, contains_taint

Number = int | Decimal
_SCALAR_KINDS = (bool, int, float, Decimal, datetime.date, datetime.time)
_PLAIN_DIGITS_LIMIT = 1_000
_SHOWN_LENGTH = 60


def describe(value: Any) -> str:
    """The kind of `value` in words a flow author knows: "text", "a number", "a date" ..."""
    if value is None:
        return "an empty value (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime.date):
        return "a date"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a record"
    return "a value of an unsupported kind"


def as_number(value: Any) -> Number | None:
    """`value` as an int or Decimal (floats via their shortest text), or None when it is not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    return None


def require_number(value: Any, function: str) -> Number:
    """`value` as a number, or an error saying that `function` needs one."""
    number = as_number(value)
    if number is None:
        raise ExpressionEvalError(f"{function}() needs a number, not {describe(value)}: use decimal(x) to read text")
    return number


def require_whole(value: Any, what: str) -> int:
    """`value` as an int (integral Decimals accepted), or an error naming `what` it was for."""
    number = as_number(value)
    if isinstance(number, Decimal) and number.is_finite() and number == number.to_integral_value():
        number = int(number)
    if not isinstance(number, int):
        kind = "" if number is not None else f", not {describe(value)}"
        raise ExpressionEvalError(f"{what} must be a whole number{kind}")
    return number


def quoted(value: Any) -> str:
    """`value` in quotes for an error message (cut to 60 characters), or a note when it came from a secret."""
    if contains_taint(value):
        return "(a value computed from a secret, not shown)"
    if not isinstance(value, str) and not (value is None or isinstance(value, _SCALAR_KINDS)):
        return describe(value)
    text = value if isinstance(value, str) else _scalar_text(value)
    return f"'{text if len(text) <= _SHOWN_LENGTH else text[:_SHOWN_LENGTH] + '...'}'"


def text_too_long() -> ExpressionEvalError:
    """The error for text that would pass the length limit."""
    return ExpressionEvalError(f"the text would be longer than {MAX_TEXT_LENGTH:,} characters")


def check_text(text: str) -> str:
    """`text`, or an error when it is longer than expressions may build."""
    if len(text) > MAX_TEXT_LENGTH:
        raise text_too_long()
    return text


def to_text(value: Any) -> str:
    """`value` as text: plain decimals (no exponent), ISO dates, '' for null, 'true'/'false' for booleans.

    The text of a value computed from a secret is tainted too (see `bastidor.expr.taint`).
    """
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, _SCALAR_KINDS):
        text = _scalar_text(value)
        return TaintedText(text) if isinstance(value, Tainted) else text
    if isinstance(value, (list, tuple)):
        return _joined((to_text(item) for item in value))
    if isinstance(value, Mapping):
        return _joined((_entry_text(key, item) for key, item in value.items()))
    return check_text(str(value))


def _scalar_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        value = Decimal(str(value))
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, int):
        return _integer_text(value)
    return value.isoformat()


def _entry_text(key: Any, item: Any) -> str:
    key_text, item_text = to_text(key), to_text(item)
    text = f"{key_text}: {item_text}"
    tainted = isinstance(key_text, Tainted) or isinstance(item_text, Tainted)
    return TaintedText(text) if tainted else text


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        return str(value)
    digits = max(value.adjusted(), 0) + max(-value.as_tuple().exponent, 0)
    return format(value, "f") if digits <= _PLAIN_DIGITS_LIMIT else str(value)


def _integer_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:
        raise ExpressionEvalError("the number is too large to show as text") from None


def _joined(parts: Any) -> str:
    """Items joined with ', ', stopping as soon as the text grows past the limit; tainted if any item is."""
    pieces: list[str] = []
    length = 0
    tainted = False
    for piece in parts:
        length += len(piece) + (2 if pieces else 0)
        if length > MAX_TEXT_LENGTH:
            raise text_too_long()
        pieces.append(piece)
        tainted = tainted or isinstance(piece, Tainted)
    text = ", ".join(pieces)
    return TaintedText(text) if tainted else text
