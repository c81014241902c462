"""A background beat: call a function every few seconds while a block of work runs (lease heartbeats)."""

from __future__ import annotations

import threading
from typing import Any, Callable


class Heartbeat:
    """Calls `beat` every `interval_s` from a daemon thread until the block ends or `beat` returns False.

    A beat that raises (the work queue briefly unusable: a full disk, a lock held too long) is tried again
    at the next interval; if the fault lasts longer than the lease, the service takes the work back."""

    def __init__(self, interval_s: float, beat: Callable[[], bool], name: str = "heartbeat"):
        self.interval_s = max(0.2, interval_s)
        self.beat = beat
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name=name)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._done.wait(self.interval_s):
            try:
                alive = self.beat()
            except Exception:  # noqa: BLE001 - see the class docstring: the next beat tries again
                alive = True
            if not alive:
                return
