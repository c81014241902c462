"""Secret masking: secret values and sensitive keys become ``***`` before anything is written.

A `SecretMasker` knows the resolved secrets of a run (name and value). It masks

- by value: every occurrence of a secret value inside any text (longest value first, so a secret that
  contains another one is masked whole);
- by key: the value of any mapping key that is a secret's name, or that looks sensitive (its letters
  contain password, passwd, secret, token, apikey, authorization or cookie, ignoring case, ``_`` and ``-``);
- by taint: any value computed from a secret (see `bastidor.expr.taint`) is replaced whole, whatever its
  length, so a one-character slice of a secret is masked as well as the secret.

Tainted values are also learnt as values to mask inside other text (error messages built with f-strings,
trace entries, page text in screenshots) once their text is long enough: `MIN_DERIVED_TEXT` characters for
text, `MIN_DERIVED_NUMBER` for numbers and dates, so that a year, a count or a two-letter slice computed from
a secret does not mask every year, count or pair of letters in the logs.

It is used by the audit log, and is meant for reports, exports and error texts as well.
"""

from __future__ import annotations

import re
import threading
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

from bastidor.expr.taint import Tainted
from bastidor.expr.values import to_text

MASK = "***"
"""What a masked value is replaced with."""

MIN_DERIVED_TEXT = 4
"""Text computed from a secret is masked inside other text when it has at least this many characters."""

MIN_DERIVED_NUMBER = 6
"""A number or date computed from a secret is masked inside other text when its text is at least this long."""

SENSITIVE_KEY_WORDS = ("password", "passwd", "secret", "token", "apikey", "authorization", "cookie")
"""A key whose letters (lower case, without ``_`` or ``-``) contain one of these is always masked."""

_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]")


def looks_sensitive(key: str) -> bool:
    """Return True when a key such as ``"X-Api-Key"`` or ``"db_password"`` names a sensitive value."""
    letters = _NOT_ALPHANUMERIC.sub("", key.lower())
    return any(word in letters for word in SENSITIVE_KEY_WORDS)


class SecretMasker:
    """Masks known secret values and sensitive keys in text and in nested data.

    ``SecretMasker(names=["ERP_USER"], values=["s3cret"])`` masks ``"s3cret"`` wherever it appears and
    the value under any ``ERP_USER`` key. Use `add` when a secret is resolved during a run.
    """

    def __init__(self, names: Iterable[str] = (), values: Iterable[str] = ()) -> None:
        self._names: set[str] = {name.lower() for name in names}
        self._values: set[str] = {str.__str__(value) for value in values if value}
        self._patterns = _Patterns(self._values)

    def add(self, name: str, value: str | None) -> None:
        """Register a secret by its name and (when known) its resolved value."""
        if name:
            self._names.add(name.lower())
        if value and value not in self._values:
            self._values.add(str.__str__(value))
            self._patterns.add(str.__str__(value))

    def add_derived(self, value: Any) -> None:
        """Learn the text of `value`, computed from a secret, as a value to mask in free text when it is long
        enough (`MIN_DERIVED_TEXT`, `MIN_DERIVED_NUMBER`); shorter ones are masked only as whole values."""
        if isinstance(value, Tainted):
            text = to_text(value)
            shortest = MIN_DERIVED_TEXT if isinstance(value, str) else MIN_DERIVED_NUMBER
            if len(text.strip()) >= shortest:
                self.add("", text)

    def values(self) -> list[str]:
        """Every value masked in free text (the secrets and the long enough values computed from them),
        longest first."""
        return sorted(self._values, key=lambda value: (-len(value), value))

    def is_sensitive_key(self, key: str) -> bool:
        """Return True when the value under `key` must be masked whatever it is."""
        return key.lower() in self._names or looks_sensitive(key)

    def mask_text(self, text: str) -> str:
        """Return `text` with every occurrence of every secret value replaced by ``***``; text computed from a
        secret becomes ``***`` whole."""
        if isinstance(text, Tainted):
            return self._masked_whole(text)
        return self._patterns.sub(text) if text else text

    def mask(self, value: Any) -> Any:
        """Return a masked copy of `value`: strings, dicts, lists, tuples and sets, at any depth. A value
        computed from a secret becomes ``***`` whole, whatever its kind and length."""
        if isinstance(value, Tainted):
            return self._masked_whole(value)
        if isinstance(value, str):
            return self.mask_text(value)
        if isinstance(value, Mapping):
            return {self._mask_key(key): self._mask_item(key, item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.mask(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.mask(item) for item in value)
        if isinstance(value, (set, frozenset)):
            return {self.mask(item) for item in value}
        return self._mask_scalar(value)

    def mask_exception(self, exc: BaseException) -> str:
        """Return ``"ErrorType: message"`` (with any notes) for `exc`, secret values masked."""
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return self.mask_text(text)

    def _mask_item(self, key: Any, item: Any) -> Any:
        if isinstance(key, str) and self.is_sensitive_key(key):
            return MASK
        return self.mask(item)

    def _mask_key(self, key: Any) -> Any:
        if isinstance(key, Tainted):
            return self._masked_whole(key)
        return self.mask_text(key) if isinstance(key, str) else key

    def _masked_whole(self, value: Any) -> str:
        self.add_derived(value)
        return MASK

    def _mask_scalar(self, value: Any) -> Any:
        if value is None or isinstance(value, bool) or not self._values:
            return value
        text = str(value)
        masked = self.mask_text(text)
        return value if masked == text else masked


class _Patterns:
    """The known values as a few compiled patterns, for masking them inside text.

    A run may learn a new value per item (text computed from a secret). Recompiling one pattern of every
    value each time would cost O(n²); instead new values form a new small pattern, and a pattern is merged
    with the one before it while that one is no larger (like a binary counter), so there are at most
    log2(n) + 1 patterns and each value is compiled O(log n) times. Each pattern masks the longest value at
    the leftmost place first; where matches of different patterns overlap, the whole stretch they cover
    is masked as one ``***``.
    """

    def __init__(self, values: Iterable[str]) -> None:
        self._levels: list[tuple[list[str], re.Pattern[str]]] = []
        self._pending: list[str] = list(values)
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        """Mask `value` too from the next `sub` on."""
        with self._lock:
            self._pending.append(value)

    def sub(self, text: str) -> str:
        """`text` with every known value replaced by ``***``."""
        with self._lock:
            self._merge_pending()
            levels = tuple(self._levels)
        if len(levels) <= 1:
            return levels[0][1].sub(MASK, text) if levels else text
        spans = sorted(found.span() for _, pattern in levels for found in pattern.finditer(text))
        return _covered(text, spans) if spans else text

    def _merge_pending(self) -> None:
        if not self._pending:
            return
        level, self._pending = self._pending, []
        while self._levels and len(self._levels[-1][0]) <= len(level):
            level = self._levels.pop()[0] + level
        ordered = sorted(level, key=lambda value: (-len(value), value))
        self._levels.append((level, re.compile("|".join(re.escape(value) for value in ordered))))


def _covered(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each stretch covered by `spans` (sorted, possibly overlapping) replaced by one ``***``."""
    merged: list[list[int]] = []
    for start, stop in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    pieces, position = [], 0
    for start, stop in merged:
        pieces += [text[position:start], MASK]
        position = stop
    pieces.append(text[position:])
    return "".join(pieces)
