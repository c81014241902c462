"""Secret masking: secret values and sensitive keys become ``***`` before anything is written.

A `SecretMasker` knows the resolved secrets of a run (name and value). It masks

- by value: every occurrence of a secret value inside any text (longest value first, so a secret that
  contains another one is masked whole);
- by key: the value of any mapping key that is a secret's name, or that looks sensitive (its letters
  contain password, passwd, secret, token, apikey, authorization or cookie, ignoring case, ``_`` and ``-``).

It is used by the audit log, and is meant for reports, exports and error texts as well.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
"""What a masked value is replaced with."""

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
        self._values: set[str] = {value for value in values if value}
        self._pattern = self._compile()

    def add(self, name: str, value: str | None) -> None:
        """Register a secret by its name and (when known) its resolved value."""
        if name:
            self._names.add(name.lower())
        if value:
            self._values.add(value)
            self._pattern = self._compile()

    def is_sensitive_key(self, key: str) -> bool:
        """Return True when the value under `key` must be masked whatever it is."""
        return key.lower() in self._names or looks_sensitive(key)

    def mask_text(self, text: str) -> str:
        """Return `text` with every occurrence of every secret value replaced by ``***``."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def mask(self, value: Any) -> Any:
        """Return a masked copy of `value`: strings, dicts, lists, tuples and sets, at any depth."""
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
        return self.mask_text(key) if isinstance(key, str) else key

    def _mask_scalar(self, value: Any) -> Any:
        if value is None or isinstance(value, bool) or self._pattern is None:
            return value
        text = str(value)
        masked = self.mask_text(text)
        return value if masked == text else masked

    def _compile(self) -> re.Pattern[str] | None:
        if not self._values:
            return None
        ordered = sorted(self._values, key=lambda value: (-len(value), value))
        return re.compile("|".join(re.escape(value) for value in ordered))
