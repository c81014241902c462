"""Reading amounts and numbers written for people: "$1,234.50", "1.234,50 €", "(12.00)", "CHF 1'234.50".

The rules, in the order they apply (the same for parse_money and parse_number, except that only
parse_money accepts a currency and guesses the decimal separator):

- Spaces around the text are ignored. A negative amount is written in brackets, "(12.50)", or with a minus
  before or after the number or the currency: "-12.50", "-$12.50", "$-12.50", "12.50-".
- parse_money accepts one currency mark before or after the number: a symbol ($ € £ ¥ ₹ ₩ ₽ ₺ ₪ ₫ ₱ ₴ ₦ ¢),
  a three-letter code in capitals (USD, EUR, GBP ...), a code with a dollar sign (R$, US$, C$, A$, NZ$, HK$),
  or kr, zł, Kč, Ft, Fr.
- Digits may be grouped by one kind of separator: a comma, a full stop, a space (also the no-break spaces
  U+00A0 and U+202F) or an apostrophe (' or ’). Groups after the first have 3 digits (or 2, as in the
  Indian 12,34,567), and the last group before the decimals always has 3.
- The decimal separator is "." or ",". With `decimal=` it is the one given. parse_number's default is ".".
  parse_money without `decimal=` decides from the text itself:
  - when both "." and "," appear, the last one is the decimal separator: "1,234.50" and "1.234,50";
  - when one of them appears more than once, it groups thousands: "1,234,567";
  - when one of them appears once, followed by exactly three digits, it groups thousands: "1,234" is 1234 and
    "1.234" is 1234 (unless the number starts with "0", as in "0.125"); otherwise it is the decimal separator:
    "12,50" is 12.50. Pass `decimal=` to read "1,234" as 1.234.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bastidor.expr.errors import ExpressionEvalError
from bastidor.expr.values import as_number, describe, quoted

_SPACES = " \u00a0\u202f\u2009"
_APOSTROPHES = "'\u2019"
_MARKS = ".,"
_MINUS_SIGNS = "-\u2212"
_SIGNS = "-+\u2212"
_CURRENCY = re.compile(r"[A-Z]{1,2}\$|[A-Z]{3}(?![A-Za-z])|[$€£¥₹₩₽₺₪₫₱₴₦¢]|kr\.?|zł|Kč|Ft|Fr\.")
_AROUND_DIGITS = re.compile(r"(\D*)(\d(?:.*\d)?)(\D*)", re.DOTALL)
_BODY = re.compile(rf"\d(?:[\d.,{_SPACES}{_APOSTROPHES}]*\d)?")
_LOOK = "look like 1234.50, 1,234.50 or 1.234,50"


@dataclass
class _Reading:
    """What surrounds the digits: the sign and whether a currency mark was found."""

    negative: bool = False
    signs: int = 0
    currencies: int = 0


def parse_money(text: Any, decimal: Any = None) -> Decimal:
    """The amount written in `text`, without its currency: parse_money("1.234,50 €") -> 1234.50."""
    if _given_number(text) is not None:
        return _given_number(text)
    mark = None if decimal is None else _decimal_mark(decimal, "parse_money")
    return _read(_require_text(text, "parse_money"), mark, currency=True, function="parse_money")


def parse_number(text: Any, decimal: Any = ".") -> Decimal:
    """The number written in `text` with its separators: parse_number("1,234.5") -> 1234.5."""
    if _given_number(text) is not None:
        return _given_number(text)
    mark = _decimal_mark(decimal, "parse_number")
    return _read(_require_text(text, "parse_number"), mark, currency=False, function="parse_number")


def reads_as_number(text: str) -> bool:
    """Whether parse_money would read `text` as an amount (so comparing it as text would mislead)."""
    try:
        _read(text, None, currency=True, function="parse_money")
    except ExpressionEvalError:
        return False
    return True


def _given_number(value: Any) -> Decimal | None:
    number = as_number(value)
    return None if number is None else Decimal(number)


def _require_text(value: Any, function: str) -> str:
    if isinstance(value, str):
        return value
    raise ExpressionEvalError(f"{function}() needs text or a number, not {describe(value)}")


def _decimal_mark(decimal: Any, function: str) -> str:
    if decimal in (".", ","):
        return decimal
    raise ExpressionEvalError(f'{function}(): decimal must be "." or ",", not {quoted(decimal)}')


def _read(text: str, mark: str | None, *, currency: bool, function: str) -> Decimal:
    reading = _Reading()
    body = _unwrap(text.strip(_SPACES + "\t\n\r"), reading, currency, text, function)
    if not _BODY.fullmatch(body):
        raise _unreadable(function, text, _expected(currency))
    mark = _choose_mark(body) if mark is None else mark
    whole, _, fraction = body.partition(mark) if mark and mark in body else (body, "", "")
    if mark and mark in fraction:
        raise _unreadable(function, text, f"it has more than one decimal separator '{mark}'{_hint(mark, function)}")
    if fraction and not fraction.isdigit():
        raise _unreadable(function, text, f"only digits may follow the decimal separator '{mark}'"
                          + _hint(mark, function))
    digits = _ungrouped(whole, mark, text, function)
    number = Decimal(f"{digits}.{fraction}" if fraction else digits)
    return -number if reading.negative else number


def _unwrap(text: str, reading: _Reading, currency: bool, original: str, function: str) -> str:
    """The digits and separators of `text`, without the brackets, signs and currency marks around them."""
    if text.startswith("(") and text.endswith(")"):
        reading.negative, reading.signs = True, 1
        text = text[1:-1]
    found = _AROUND_DIGITS.fullmatch(text)
    if found is None:
        raise _unreadable(function, original, _expected(currency))
    for part in (found.group(1), found.group(3)):
        if not _take_marks(part, reading, currency):
            raise _unreadable(function, original, _expected(currency))
    if reading.signs > 1 or reading.currencies > 1:
        what = "sign" if reading.signs > 1 else "currency"
        raise _unreadable(function, original, f"it has more than one {what}")
    return found.group(2)


def _take_marks(part: str, reading: _Reading, currency: bool) -> bool:
    """Record the signs and currency marks that make up `part` (the text before or after the digits);
    False when something else is there."""
    part = part.strip(_SPACES)
    while part:
        if part[0] in _SIGNS:
            _note_sign(reading, part[0])
            part = part[1:].lstrip(_SPACES)
            continue
        found = _CURRENCY.match(part) if currency else None
        if found is None:
            return False
        reading.currencies += 1
        part = part[found.end():].lstrip(_SPACES)
    return True


def _expected(currency: bool) -> str:
    return f"it should {_LOOK}" + (", with or without a currency" if currency else "")


def _note_sign(reading: _Reading, sign: str) -> None:
    reading.signs += 1
    reading.negative = reading.negative or sign in _MINUS_SIGNS


def _choose_mark(body: str) -> str:
    """The decimal separator of `body` when none was given (see the module's rules); "" when there is none."""
    present = [mark for mark in _MARKS if mark in body]
    if len(present) == 2:
        return max(present, key=body.rfind)
    if not present or body.count(present[0]) > 1:
        return ""
    mark = present[0]
    before, after = body.split(mark)
    return "" if len(after) == 3 and after.isdigit() and before.lstrip(_SPACES + _APOSTROPHES) != "0" else mark


def _ungrouped(whole: str, mark: str, original: str, function: str) -> str:
    """The digits of the whole part, after checking how they are grouped."""
    separators = {_kind(char) for char in whole if not char.isdigit()}
    if not separators:
        return whole
    if len(separators) > 1 or mark in separators:
        raise _unreadable(function, original, "its digits are grouped with more than one kind of separator"
                          + _hint(mark, function))
    groups = re.split(r"\D", whole)
    middle = {len(group) for group in groups[1:-1]}
    if not 1 <= len(groups[0]) <= 3 or len(groups[-1]) != 3 or middle - {2, 3} or len(middle) > 1:
        raise _unreadable(function, original, "the groups of digits between the separators should have 3 digits, "
                          "as in 1,234,567" + _hint(mark, function))
    return "".join(groups)


def _kind(char: str) -> str:
    """Spaces of every width count as one kind of separator, and so do both apostrophes."""
    if char in _SPACES:
        return " "
    return "'" if char in _APOSTROPHES else char


def _hint(mark: str, function: str) -> str:
    other = {".": ",", ",": "."}.get(mark)
    if other is None:
        return ""
    return f'; if "{other}" is the decimal separator here, write {function}(x, decimal="{other}")'


def _unreadable(function: str, text: str, why: str) -> ExpressionEvalError:
    what = "an amount" if function == "parse_money" else "a number"
    return ExpressionEvalError(f"{function}(): cannot read {quoted(text)} as {what}: {why}")
