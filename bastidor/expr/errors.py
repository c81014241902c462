"""Errors raised by expressions, written for the analysts who write flows."""

from __future__ import annotations

import difflib
from typing import Iterable


class ExpressionError(Exception):
    """An expression that cannot be used: `message` says why, `offset` where (0-based), when known."""

    def __init__(self, message: str, offset: int | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset

    def __str__(self) -> str:
        return self.message

    def shifted(self, by: int) -> "ExpressionError":
        """The same error with its offset moved `by` characters (used when the text sits inside a larger one)."""
        offset = None if self.offset is None else self.offset + by
        return type(self)(self.message, offset)


class ExpressionSyntaxError(ExpressionError):
    """The expression does not parse or uses a construct that is not allowed (found before it runs)."""


class ExpressionEvalError(ExpressionError):
    """The expression failed while running: unknown name, wrong kinds of values, a limit reached."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`", did you mean 'x'?"` for the candidate closest to `name`, or an empty string."""
    texts = [candidate for candidate in candidates if isinstance(candidate, str)]
    by_lower = {candidate.lower(): candidate for candidate in texts}
    if name.lower() in by_lower and by_lower[name.lower()] != name:
        return f", did you mean '{by_lower[name.lower()]}'?"
    matches = difflib.get_close_matches(name, texts, n=1, cutoff=0.6)
    return f", did you mean '{matches[0]}'?" if matches else ""
