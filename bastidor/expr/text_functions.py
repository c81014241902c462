"""Functions on text: case, trimming, searching, replacing, splitting, joining, padding and number formatting."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, DecimalException
from typing import Any

from bastidor.expr.comparisons import is_in
from bastidor.expr.errors import ExpressionEvalError
from bastidor.expr.limits import MAX_ITEMS, MAX_PLACES, MAX_TEXT_LENGTH
from bastidor.expr.values import check_text, describe, require_number, require_whole, text_too_long, to_text


def text(value: Any) -> str:
    """`value` as text, the way it appears when written into a string."""
    return to_text(value)


def upper(value: Any) -> str:
    """The text in capital letters."""
    return check_text(to_text(value).upper())


def lower(value: Any) -> str:
    """The text in small letters."""
    return check_text(to_text(value).lower())


def trim(value: Any) -> str:
    """The text without spaces (or tabs, newlines) at either end."""
    return to_text(value).strip()


def strip(value: Any, chars: Any = None) -> str:
    """The text without spaces at either end, or without any of the characters in `chars`: strip("**7**", "*")."""
    if chars is None:
        return to_text(value).strip()
    return to_text(value).strip(to_text(chars))


def split(value: Any, sep: Any = None) -> list[str]:
    """The text cut into a list at each `sep`: split("a;b;c", ";") -> ["a", "b", "c"]; without sep, at spaces."""
    if isinstance(value, (list, tuple, Mapping)):
        raise ExpressionEvalError(f"split() needs text, not {describe(value)}")
    text = to_text(value)
    if sep is None:
        parts = text.split()
    else:
        separator = to_text(sep)
        if not separator:
            raise ExpressionEvalError('split(): the separator cannot be empty; to split at spaces, write split(text)')
        parts = text.split(separator)
    if len(parts) > MAX_ITEMS:
        raise ExpressionEvalError(f"split(): the list would hold more than {MAX_ITEMS:,} items")
    return parts


def join(values: Any, sep: Any = ", ") -> str:
    """The items of a list written as text with `sep` between them: join(["a", "b"], " / ") -> "a / b"."""
    if not isinstance(values, (list, tuple)):
        raise ExpressionEvalError(f"join() needs a list, not {describe(values)}: to add texts together, use "
                                  "concat(a, b) or a + b")
    separator = to_text(sep)
    pieces: list[str] = []
    total = 0
    for item in values:
        pieces.append(to_text(item))
        total += len(pieces[-1]) + len(separator)
        if total > MAX_TEXT_LENGTH + len(separator):
            raise text_too_long()
    return separator.join(pieces)


def length(value: Any) -> int:
    """Characters in a text, or items in a list or record."""
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value)
    raise ExpressionEvalError(f"len() needs text, a list or a record, not {describe(value)}")


def replace(value: Any, old: Any, new: Any) -> str:
    """The text with every `old` part replaced by `new`."""
    source, old_text, new_text = to_text(value), to_text(old), to_text(new)
    if not old_text:
        raise ExpressionEvalError("replace(): the text to replace cannot be empty")
    if len(source) + source.count(old_text) * (len(new_text) - len(old_text)) > MAX_TEXT_LENGTH:
        raise text_too_long()
    return source.replace(old_text, new_text)


def contains(container: Any, part: Any) -> bool:
    """Whether text contains `part`, a list holds `part`, or a record has the key `part`."""
    if isinstance(container, str):
        return to_text(part) in container
    if isinstance(container, (list, tuple, Mapping)):
        return is_in(part, container)
    return to_text(part) in to_text(container)


def starts_with(value: Any, prefix: Any) -> bool:
    """Whether the text begins with `prefix`."""
    return to_text(value).startswith(to_text(prefix))


def ends_with(value: Any, suffix: Any) -> bool:
    """Whether the text ends with `suffix`."""
    return to_text(value).endswith(to_text(suffix))


def format_number(x: Any, places: Any = 2, thousands: Any = ",", decimal: Any = ".") -> str:
    """The number with `places` decimals (halves rounded up) and the given separators: 1234.5 -> "1,234.50"."""
    number = Decimal(require_number(x, "format_number"))
    digits = require_whole(places, "format_number(): places")
    if not 0 <= digits <= MAX_PLACES:
        raise ExpressionEvalError(f"format_number(): places must be between 0 and {MAX_PLACES}")
    try:
        rounded = number.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    except DecimalException:
        raise ExpressionEvalError("format_number(): the number has too many digits to show") from None
    plain = format(rounded, f",.{digits}f")
    swapped = plain.replace(",", "\0").replace(".", to_text(decimal)).replace("\0", to_text(thousands))
    return check_text(swapped)


def pad(x: Any, width: Any, fill: Any = "0") -> str:
    """The text made `width` characters long by adding `fill` on the left: pad(42, 5) -> "00042"."""
    value, fill_text = to_text(x), to_text(fill)
    size = require_whole(width, "pad(): width")
    if len(fill_text) != 1:
        raise ExpressionEvalError('pad(): fill must be exactly one character, for example "0" or " "')
    if size > MAX_TEXT_LENGTH:
        raise text_too_long()
    return value.rjust(size, fill_text)


def concat(*parts: Any) -> str:
    """All the values written as text, one after the other."""
    pieces: list[str] = []
    total = 0
    for part in parts:
        pieces.append(to_text(part))
        total += len(pieces[-1])
        if total > MAX_TEXT_LENGTH:
            raise text_too_long()
    return "".join(pieces)
