"""Argument checks for the work queue: each mistake is a clear `ValueError` before anything is stored."""

from __future__ import annotations

import math
from datetime import datetime, timezone


def resolve_now(now: datetime | None) -> datetime:
    """`now` in UTC, or the current UTC time when it is None."""
    if now is None:
        return datetime.now(timezone.utc)
    return aware("now", now)


def aware(name: str, value: datetime) -> datetime:
    """`value` in UTC; a naive datetime is refused because its time zone would be a guess."""
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, not {type(value).__name__}.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} ({value.isoformat()}) has no time zone; give an aware datetime such as "
            "datetime.now(timezone.utc)."
        )
    return value.astimezone(timezone.utc)


def maybe_aware(name: str, value: datetime | None) -> datetime | None:
    """Like `aware`, letting None through."""
    return None if value is None else aware(name, value)


def text(name: str, value: str, max_length: int) -> str:
    """A non-empty string of at most `max_length` characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}.")
    if len(value) > max_length:
        raise ValueError(f"{name} is {len(value)} characters long; the limit is {max_length}. Shorten it.")
    return value


def seconds(name: str, value: float, *, allow_zero: bool = False) -> float:
    """A finite number of seconds, greater than zero (or zero when allowed)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}.")
    if value < 0 or (value == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "more than zero"
        raise ValueError(f"{name} must be {bound} seconds, got {value!r}.")
    return float(value)


def attempts(value: int) -> int:
    """A maximum number of attempts: a whole number of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_attempts must be a whole number of at least 1, got {value!r}.")
    return value


def one_of(name: str, value: str, allowed: tuple[str, ...]) -> str:
    """`value`, if it is one of `allowed`."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")
    return value
