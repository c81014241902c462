"""The single-scheduler lock: an OS file lock, released by the kernel when its holder dies (even by kill -9)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class SchedulerLock:
    """An exclusive, non-blocking lock on a file in the service's home folder."""

    def __init__(self, path: Path):
        self.path = path
        self._handle = None

    def try_acquire(self) -> bool:
        """Take the lock if no other live process holds it; returns whether this process holds it now."""
        if self._handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return True

    def holder(self) -> str:
        """The pid written by the current holder, for messages."""
        try:
            return self.path.read_text(encoding="utf-8").strip() or "unknown"
        except OSError:
            return "unknown"

    def release(self) -> None:
        """Give the lock up."""
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
