"""How long an item waits before its next try after an application exception."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: ``first_s``, then times ``factor`` per further attempt, at most ``max_s``.

    ``Backoff(first_s=30, factor=2, max_s=3600)`` waits 30 s after attempt 1, 60 s after attempt 2, ...
    """

    first_s: float = 30.0
    factor: float = 2.0
    max_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.first_s < 0 or self.factor < 1 or self.max_s < 0:
            raise ValueError(
                f"A backoff needs first_s >= 0, factor >= 1 and max_s >= 0; got first_s={self.first_s}, "
                f"factor={self.factor}, max_s={self.max_s}."
            )

    def delay_s(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 for the first)."""
        exponent = max(0, attempt - 1)
        if self.factor > 1 and exponent > 64:
            return self.max_s
        return min(self.max_s, self.first_s * self.factor**exponent)
