"""This service's row in the services registry: registered at its first beat, written again every
`HEARTBEAT_S` seconds and at once when what it says changes (it takes or loses the scheduler, a bot
restarts, it starts draining), and marked stopped at a clean stop.

A registry that cannot be written raises `RegistryError` (a `QueueError`): the service reports it as a
storage fault and tries again at its next tick, as for the queue itself.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bastidor.service.registry import (
    HEARTBEAT_S,
    RUNNING,
    ServiceEntry,
    ServiceRegistry,
    open_service_registry,
)


class Presence:
    """Keeps one service's registry row up to date; `beat` is called every service tick."""

    def __init__(self, home: Path, location: str | Path, heartbeat_s: float = HEARTBEAT_S):
        self.home = home
        self.location = location
        self.heartbeat_s = heartbeat_s
        self.entry: ServiceEntry | None = None
        self._registry: ServiceRegistry | None = None
        self._said: tuple[Any, ...] | None = None
        self._next_beat = 0.0

    def beat(self, *, holds_scheduler: bool, workers: list[dict[str, Any]], retired_workers: list[str],
             state: str = RUNNING, fault: str | None = None) -> bool:
        """Write a heartbeat if one is due or what the service says changed; whether one was written."""
        said = (holds_scheduler, state, fault, [(bot["name"], bot["alive"]) for bot in workers])
        if said == self._said and time.monotonic() < self._next_beat:
            return False
        registry = self._open()
        if self.entry is None:
            self.entry = registry.register(self.home, heartbeat_s=self.heartbeat_s)
        registry.beat(self.entry, holds_scheduler=holds_scheduler, workers=workers,
                      retired_workers=retired_workers, state=state, fault=fault)
        self._said, self._next_beat = said, time.monotonic() + self.heartbeat_s
        return True

    def stopped(self) -> None:
        """Record the clean stop (`RegistryError` when it cannot be written), then close."""
        try:
            if self.entry is not None:
                self._open().stopped(self.entry)
        finally:
            self.close()

    def close(self) -> None:
        """Release the registry's connections."""
        if self._registry is not None:
            self._registry.close()
            self._registry = None

    def _open(self) -> ServiceRegistry:
        if self._registry is None:
            self._registry = open_service_registry(self.location)
        return self._registry
