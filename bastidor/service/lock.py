"""One active scheduler: whoever holds the scheduler lock schedules; every other service stands by.

Embedded (the home folder's SQLite files), the lock is an OS file lock in the home folder, released by the
kernel when its holder dies (even by kill -9). With a shared PostgreSQL database it is a session advisory
lock (`bastidor.service.advisory_lock.AdvisoryLock`) held on a connection of its own, so services on any
number of machines elect one scheduler. Both kinds answer the same three questions each service tick:
`try_acquire` (become the holder if nobody is), `still_held` (is this process still the holder?) and
`holder` (who is, for messages).

    lock = scheduler_lock(home)
    if lock.try_acquire():        # every tick while standing by
        ...                       # start the scheduler
    if not lock.still_held():     # every tick while active: stop the scheduler at once
        ...
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Protocol

from bastidor.database.places import places_for


class Leadership(Protocol):
    """What the service asks of its scheduler lock, whichever kind it is."""

    lost_reason: str | None

    def try_acquire(self) -> bool:
        """Become the holder if no live process is; whether this process holds the lock now."""

    def still_held(self) -> bool:
        """Whether this process still holds the lock (False once it was lost: see `lost_reason`)."""

    def holder(self) -> str:
        """Who holds the lock, for messages ("pid 4242", "machine-b pid 4242")."""

    def release(self) -> None:
        """Give the lock up (at a clean stop)."""


class SchedulerLock:
    """An exclusive, non-blocking lock on a file in the service's home folder."""

    def __init__(self, path: Path):
        self.path = path
        self.lost_reason: str | None = None
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

    def still_held(self) -> bool:
        """A file lock is held until this process releases it or dies."""
        return self._handle is not None

    def holder(self) -> str:
        """The pid written by the current holder, for messages."""
        try:
            pid = self.path.read_text(encoding="utf-8").strip()
        except OSError:
            pid = ""
        return f"pid {pid}" if pid else "unknown"

    def release(self) -> None:
        """Give the lock up."""
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def scheduler_lock(home: Path) -> Leadership:
    """The scheduler lock for `home` under the current database setting: a file lock in the home folder, or
    the shared database's advisory lock when the stores live in PostgreSQL."""
    places = places_for(home)
    if places.shared:
        from bastidor.service.advisory_lock import AdvisoryLock

        return AdvisoryLock(places.url)
    return SchedulerLock(Path(home) / "scheduler.lock")
