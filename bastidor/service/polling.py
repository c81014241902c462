"""A watcher's background thread: it looks again every few seconds until the service stops it.

The `on_file` and `on_mail` watchers (`file_watch`, `mail_watch`) are each one of these, with their own `poll`.
"""

from __future__ import annotations

import threading
from typing import Any


class PollingThread:
    """Calls `poll()` on a daemon thread every `every_s` seconds until `stop()`, for the schedules it was given."""

    def __init__(self, name: str, every_s: float, stop_wait_s: float):
        self.schedules: list[Any] = []
        self._every_s = every_s
        self._stop_wait_s = stop_wait_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def apply(self, schedules: list[Any]) -> None:
        """Serve these schedules from the next poll on (schedules.yaml changed)."""
        with self._lock:
            self.schedules = list(schedules)

    def start(self) -> None:
        """Start polling in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop polling; returns once nothing is being taken (or after `stop_wait_s`)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._stop_wait_s)

    def poll(self) -> None:
        """One look at everything watched; each watcher says what that is."""
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self._every_s)
