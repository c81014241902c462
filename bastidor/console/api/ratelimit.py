"""Rate limits: a token bucket per API token, in memory (per console process).

Each client has a bucket of `capacity` calls that refills at `per_minute` calls a minute: a client may burst
up to the capacity, then goes at the refill rate. A call that finds the bucket empty is refused with 429 and
a ``Retry-After`` of the whole seconds until the next call is allowed. Calls without a valid token are
limited by client address the same way, so guessing tokens is slow and cannot flood the audit log.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_PER_MINUTE = 120
MAX_CLIENTS_TRACKED = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float
    refusing: bool = False
    """Whether its last call was refused (the first refusal of a streak is audited, not every one)."""


@dataclass(frozen=True)
class Verdict:
    """Whether a call may go ahead; when not, the seconds to wait, and whether it starts a streak of refusals."""

    allowed: bool
    retry_after_s: int = 0
    first_refusal: bool = False


class RateLimiter:
    """Token buckets by client key (``token:NAME`` or ``address:IP``); thread-safe."""

    def __init__(self, per_minute: float = DEFAULT_PER_MINUTE, capacity: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be above 0")
        self.rate_per_s = per_minute / 60.0
        self.capacity = float(per_minute if capacity is None else capacity)
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> Verdict:
        """Spend one call of `key`'s bucket, or say how long to wait."""
        with self._lock:
            now = self.clock()
            bucket = self._bucket(key, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate_per_s)
            bucket.at = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                bucket.refusing = False
                return Verdict(True)
            first = not bucket.refusing
            bucket.refusing = True
            wait = max(1, math.ceil((1 - bucket.tokens) / self.rate_per_s))
            return Verdict(False, wait, first)

    def _bucket(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_CLIENTS_TRACKED:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        return bucket

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled (they would start full anyway)."""
        self._buckets = {key: bucket for key, bucket in self._buckets.items()
                         if bucket.tokens + (now - bucket.at) * self.rate_per_s < self.capacity}
