"""Whether this service is the active scheduler, and stopping it at once when it no longer may be.

A standby tries to take the scheduler lock at every round of its service (`try_to_lead`); the holder
starts its scheduler. A thread of its own then checks every `CHECK_S` seconds that the lock is still
held, so no slow database call of the service's round (a reconnect under way) can delay the check: once
the lock is lost (the holder's database connection died, so another service may be scheduling already),
the scheduler is stopped at once and the service stands by again. Fires are keyed `schedule@fire_time`,
so even a batch that was being recorded while the lock went is never recorded twice.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Protocol

from bastidor.service.lock import Leadership

CHECK_S = 1.0
"""How often the holder checks its lock."""


class ActiveScheduler(Protocol):
    """What runs while this service is the active scheduler (the scheduler, its file watcher, its alerts)."""

    def stop(self) -> None:
        """Stop recording fires; returns once nothing more will be recorded."""


class SchedulerRole:
    """Takes the scheduler lock when it is free, runs the scheduler while it is held, and stands down
    the moment it is lost. `start` builds and starts the scheduler; when it raises (a storage fault) the
    lock is given up, and taken again by whichever service tries first."""

    def __init__(self, lock: Leadership, start: Callable[[], ActiveScheduler], audit: Any, *,
                 say: Callable[..., None] = print, check_s: float = CHECK_S):
        self.lock = lock
        self.start = start
        self.audit = audit
        self.say = say
        self.check_s = check_s
        self._active: ActiveScheduler | None = None
        self._announced_standby = False
        self._mutex = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="scheduler-lock", daemon=True)

    @property
    def active(self) -> bool:
        """Whether this service runs the scheduler now."""
        return self._active is not None

    def begin(self) -> None:
        """Start checking the lock in the background (it checks only while this service holds it)."""
        self._thread.start()

    def try_to_lead(self) -> None:
        """Take the lock and start the scheduler if no other service holds it; say once when standing by."""
        with self._mutex:  # never while a scheduler that lost the lock is still stopping (see `check`)
            if self._active is not None:
                return
            if not self.lock.try_acquire():
                self._announce_standby()
                return
            try:
                self._active = self.start()
            except BaseException:
                self.lock.release()  # a service that cannot schedule (a storage fault) lets a healthy standby do it
                raise
        self._announced_standby = False

    def check(self) -> bool:
        """Whether this service still leads (or never did); stands down at once when it lost the lock."""
        with self._mutex:
            active = self._active
            if active is None or self.lock.still_held():
                return True
            active.stop()  # before `_active` is cleared, so no second scheduler starts while this one stops
            self._active = None
        reason = self.lock.lost_reason or "the lock was lost"
        self.say(f"scheduler lock lost: {reason}; the scheduler stopped and this service stands by", flush=True)
        self.audit.event("scheduler.lost", reason=reason)
        return False

    def end(self) -> None:
        """At a clean stop: stop checking, stop the scheduler, and give the lock up for a standby."""
        self._done.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        with self._mutex:
            active, self._active = self._active, None
        if active is not None:
            active.stop()
        self.lock.release()

    def _watch(self) -> None:
        while not self._done.wait(self.check_s):
            try:
                self.check()
            except Exception as error:  # noqa: BLE001 - the check must go on whatever one round met
                self.audit.event("scheduler.check_failed", error=f"{type(error).__name__}: {error}")

    def _announce_standby(self) -> None:
        if self._announced_standby:
            return
        unreachable = getattr(self.lock, "unreachable", None)
        holder = "unknown" if unreachable else self.lock.holder()
        why = (f"the scheduler lock cannot be reached ({unreachable})" if unreachable
               else f"another scheduler is active ({holder})")
        self.say(f"{why}; this one stands by and tries again every second", flush=True)
        self.audit.event("scheduler.standby", holder=holder, unreachable=unreachable)
        self._announced_standby = True
