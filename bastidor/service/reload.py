"""Picks up changes to schedules.yaml without a restart, and audits each change."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from bastidor.flow.diagnostics import FlowValidationError
from bastidor.schedule import ScheduleSet, load_schedules


def describe_changes(old: ScheduleSet | None, new: ScheduleSet) -> dict[str, list[str]]:
    """Which schedule ids were added, removed or changed between two loads."""
    before = {s.id: s for s in old.schedules} if old else {}
    after = {s.id: s for s in new.schedules}
    return {"added": sorted(after.keys() - before.keys()), "removed": sorted(before.keys() - after.keys()),
            "changed": sorted(i for i in after.keys() & before.keys() if repr(after[i]) != repr(before[i]))}


class ScheduleWatcher:
    """Polls the schedules file; applies a valid new version, audits an invalid one and keeps the old."""

    def __init__(self, path: Path, scheduler: Any, audit: Any, current: ScheduleSet, interval_s: float = 2.0):
        self.path = path
        self.scheduler = scheduler
        self.audit = audit
        self.current = current
        self.interval_s = interval_s
        self._digest = current.sha256
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="schedules-watcher", daemon=True)

    def start(self) -> None:
        """Start watching in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        self._thread.join(timeout=5)

    def check_now(self) -> bool:
        """Reload if the file changed; returns whether a new version was applied."""
        try:
            digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return False
        if digest == self._digest:
            return False
        self._digest = digest
        try:
            new = load_schedules(self.path)
        except FlowValidationError as error:
            self.audit.event("schedules.invalid", file=str(self.path), sha256=digest,
                             problems=[str(d) for d in error.diagnostics], kept_sha256=self.current.sha256)
            return False
        changes = describe_changes(self.current, new)
        self.scheduler.apply(new)
        self.audit.event("schedules.changed", file=str(self.path), sha256=digest, **changes)
        self.current = new
        return True

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.check_now()
