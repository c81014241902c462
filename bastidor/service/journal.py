"""The service's own audit log, kept through storage faults.

A run's audit log fails closed: once a record cannot be written, the run stops. The service cannot stop
that way (it would orphan its bots and leave fires unrecorded), so while the disk is full or the file
unwritable its journal counts the events it could not write, and after a pause reopens the log, which
continues its hash chain after the last complete record, with an `audit.resumed` record naming the fault
and how many events of each kind were lost. `fault` says whether the journal is writable now.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from bastidor.audit import AuditLog, AuditWriteError

REOPEN_AFTER_S = 2.0


class ServiceJournal:
    """An `AuditLog` that reopens itself after a write failure; same `event`/`close` interface."""

    def __init__(self, path: Path, opener: Callable[[], AuditLog]):
        self.path = path
        self._opener = opener
        self._log: AuditLog | None = opener()
        self._lock = threading.Lock()
        self._lost: Counter[str] = Counter()
        self._fault: str | None = None
        self._retry_at = 0.0

    @property
    def fault(self) -> str | None:
        """Why the journal cannot be written right now, or None."""
        return self._fault

    def event(self, event: str, **fields: Any) -> dict[str, Any]:
        """Write one record and return it; while the log cannot be written, count the event as lost and
        return an empty record."""
        with self._lock:
            try:
                log = self._usable()
                if log is not None:
                    return log.event(event, **fields)
            except AuditWriteError as error:
                self._broken(error)
            self._lost[event] += 1
            return {}

    def recover(self) -> str | None:
        """Reopen the log if it could not be written and it is time to try again; the fault that remains, or
        None when the log is writable."""
        with self._lock:
            try:
                self._usable()
            except AuditWriteError as error:
                self._broken(error)
            return self._fault

    def close(self) -> None:
        """Close the log (it is fsynced); a log that cannot be closed is left as it is."""
        with self._lock:
            if self._log is not None:
                try:
                    self._log.close()
                except AuditWriteError as error:
                    self._broken(error)

    def _usable(self) -> AuditLog | None:
        """The open log; after a fault, None until it is time to reopen it (`AuditWriteError` if that fails)."""
        if self._log is not None:
            return self._log
        if time.monotonic() < self._retry_at:
            return None
        self._log = self._opener()
        self._log.event("audit.resumed", after_fault=self._fault, events_lost=dict(self._lost))
        self._lost.clear()
        self._fault = None
        return self._log

    def _broken(self, error: AuditWriteError) -> None:
        self._fault = str(error)
        self._retry_at = time.monotonic() + REOPEN_AFTER_S
        if self._log is not None:
            try:
                self._log.close()
            except AuditWriteError:
                pass
        self._log = None
