"""Slows password guessing: after a few failed sign-ins a name is locked for a while (in memory)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_FAILURES = 5
WINDOW_S = 15 * 60
LOCKOUT_S = 60
MAX_NAMES_TRACKED = 10_000


class LoginThrottle:
    """Counts failed sign-ins per user name; `MAX_FAILURES` within `WINDOW_S` locks it for `LOCKOUT_S`.

    Unknown names are counted like real ones, so a lockout tells nothing about which names exist.
    """

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S, lockout_s: float = LOCKOUT_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.clock = clock
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def locked_for(self, name: str) -> float:
        """Seconds until `name` may try again (0 when it may try now)."""
        with self._lock:
            recent = self._recent(name)
            if len(recent) < self.max_failures:
                return 0.0
            return max(0.0, recent[-1] + self.lockout_s - self.clock())

    def failed(self, name: str) -> None:
        """Note a failed sign-in for `name`."""
        with self._lock:
            if len(self._failures) >= MAX_NAMES_TRACKED:
                self._forget_old()
            self._failures[name.lower()] = [*self._recent(name), self.clock()][-self.max_failures:]

    def succeeded(self, name: str) -> None:
        """Forget the failures of `name` after a successful sign-in."""
        with self._lock:
            self._failures.pop(name.lower(), None)

    def _forget_old(self) -> None:
        horizon = self.clock() - max(self.window_s, self.lockout_s)
        self._failures = {name: times for name, times in self._failures.items() if times and times[-1] >= horizon}

    def _recent(self, name: str) -> list[float]:
        horizon = self.clock() - self.window_s
        return [moment for moment in self._failures.get(name.lower(), []) if moment >= horizon]
