"""Values computed from a secret ("tainted" values), so that they stay masked wherever they go.

A secret enters expressions as `TaintedText`, a `str` that remembers where it came from. Whatever an
expression computes from a tainted value is tainted too: text as `TaintedText`, whole numbers as
`TaintedInt`, decimals as `TaintedDecimal`, dates as `TaintedDate` (and `TaintedDateTime`). They behave
exactly like the plain values (same comparisons, arithmetic, hashing and JSON), and their text forms
(`str()`, `isoformat()`) are tainted text. Lists and records are never tainted as a whole: each item keeps
its own taint, so a record holding one secret field does not taint its other fields.

True/false and null cannot be tainted (Python's `bool` and `None` cannot be subclassed): a comparison with a
secret gives a plain true or false, and a value chosen by a condition on a secret is not tainted.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


class Tainted:
    """Marks a value computed from a secret; `SecretMasker` replaces such a value with ``***``."""

    __slots__ = ()


class TaintedText(str, Tainted):
    """Text that is, or was computed from, a secret. `str()` of it stays tainted."""

    __slots__ = ()

    def __str__(self) -> str:
        return self


class TaintedInt(int, Tainted):
    """A whole number computed from a secret (a length, a position, a converted PIN...)."""

    __slots__ = ()

    def __str__(self) -> str:
        return TaintedText(int.__repr__(self))


class TaintedDecimal(Decimal, Tainted):
    """A decimal number computed from a secret."""

    __slots__ = ()

    def __str__(self) -> str:
        return TaintedText(Decimal.__str__(self))


class TaintedDate(datetime.date, Tainted):
    """A date computed from a secret."""

    __slots__ = ()

    def __str__(self) -> str:
        return TaintedText(datetime.date.isoformat(self))

    def isoformat(self) -> str:
        """The ISO text of the date, tainted."""
        return TaintedText(datetime.date.isoformat(self))


class TaintedDateTime(datetime.datetime, Tainted):
    """A date and time computed from a secret."""

    __slots__ = ()

    def __str__(self) -> str:
        return TaintedText(datetime.datetime.__str__(self))

    def isoformat(self, *args: Any, **kwargs: Any) -> str:
        """The ISO text of the moment, tainted."""
        return TaintedText(datetime.datetime.isoformat(self, *args, **kwargs))


def _tainted_date(value: datetime.date) -> TaintedDate:
    return TaintedDate(value.year, value.month, value.day)


def _tainted_datetime(value: datetime.datetime) -> TaintedDateTime:
    return TaintedDateTime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                           value.microsecond, value.tzinfo, fold=value.fold)


_MAKERS = {str: TaintedText, int: TaintedInt, Decimal: TaintedDecimal, datetime.date: _tainted_date,
           datetime.datetime: _tainted_datetime}
_PLAIN = {TaintedText: str.__str__, TaintedInt: int, TaintedDecimal: Decimal,
          TaintedDate: lambda value: datetime.date(value.year, value.month, value.day),
          TaintedDateTime: lambda value: datetime.datetime.combine(value.date(), value.timetz(), fold=value.fold)}


_SCALARS = frozenset({str, int, float, bool, type(None), Decimal, datetime.date, datetime.datetime})
"""Plain kinds with nothing inside: checked first, so looking through untainted data stays cheap."""


def is_tainted(value: Any) -> bool:
    """Whether `value` itself was computed from a secret (lists and records: see `contains_taint`)."""
    return isinstance(value, Tainted)


def taint(value: Any) -> Any:
    """`value` marked as computed from a secret; inside lists and records, each item is marked.

    True/false, null and kinds expressions never produce are returned as they are.
    """
    if isinstance(value, Tainted) or value is None or isinstance(value, bool):
        return value
    maker = _MAKERS.get(type(value))
    if maker is not None:
        return maker(value)
    if isinstance(value, float):
        return TaintedDecimal(str(value))
    if isinstance(value, (list, tuple)):
        return [taint(item) for item in value]
    if isinstance(value, Mapping):
        return {taint(key): taint(item) for key, item in value.items()}
    return _taint_subclass(value)


def _taint_subclass(value: Any) -> Any:
    for kind in (datetime.datetime, datetime.date, str, int, Decimal):
        if isinstance(value, kind):
            return _MAKERS[kind](value)
    return value


def spread(result: Any, *sources: Any) -> Any:
    """`result` tainted when any of `sources` is tainted (for an operation on these values)."""
    for source in sources:
        if isinstance(source, Tainted):
            return taint(result)
    return result


def contains_taint(value: Any) -> bool:
    """Whether `value`, or anything inside it (list items, record keys and fields), was computed from a secret."""
    if isinstance(value, Tainted):
        return True
    if type(value) in _SCALARS:
        return False
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(contains_taint(item) for item in value)
    if isinstance(value, Mapping):
        return any(contains_taint(key) or contains_taint(item) for key, item in value.items())
    return False


def tainted_leaves(value: Any) -> list[Any]:
    """Every tainted value inside `value` (itself, list items, record keys and fields), in order."""
    if isinstance(value, Tainted):
        return [value]
    if type(value) in _SCALARS:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return [leaf for item in value for leaf in tainted_leaves(item)]
    if isinstance(value, Mapping):
        return [leaf for key, item in value.items() for leaf in (*tainted_leaves(key), *tainted_leaves(item))]
    return []


def plain(value: Any) -> Any:
    """An untainted copy of a tainted value (e.g. for a library that must get an exact `str`)."""
    convert = _PLAIN.get(type(value))
    return value if convert is None else convert(value)
