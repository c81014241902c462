"""What a run started by the service needs from it: the work queue, which bot it is, and when to stop.

A bot stops taking items when the service drains (SIGTERM), when the service process is gone, when the
run's time limit passes or when its request's lease was lost. The first reason is kept: the run ends as
interrupted with it, and `requeue` says whether its request goes back to the queue (a drain) or not.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

SERVICE_STOPPING = "the service is stopping (drain)"
SERVICE_GONE = "the service process that started this bot is gone"


@dataclass
class ServiceBinding:
    """The queue, the bot's worker id and lease length, and the run's stop signal."""

    queue: Any
    worker_id: str
    item_lease_s: float
    stop_event: threading.Event
    request_id: int | None = None
    parent_pid: int | None = None
    stop_reason: str | None = None
    requeue: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def stopping(self) -> bool:
        """True once the bot must take no more items; notices a service process that died."""
        if self.parent_pid is not None and os.getppid() != self.parent_pid:
            self.stop(SERVICE_GONE, requeue=True)
        return self.stop_event.is_set()

    def stop(self, reason: str, *, requeue: bool) -> None:
        """Ask the run to take no more items; the first reason given is the one kept."""
        with self._lock:
            if not self.stop_event.is_set():
                self.stop_reason, self.requeue = reason, requeue
            self.stop_event.set()

    def bind_queue(self, queue_name: str) -> None:
        """Tell the queue which work-item queue this request's run takes items from (none outside a request)."""
        if self.request_id is not None:
            self.queue.bind_queue(self.request_id, self.worker_id, queue_name)
