"""The pool of bot worker processes: started, watched and restarted by the service, drained on stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastidor.queue import QueueError
from bastidor.service.orphans import close_or_keep


RETIRED_KEPT = 50
"""How many names of exited bots a pool remembers (the Bots page counts their runs of the last hour)."""


def default_workers() -> int:
    """One bot per core: each bot keeps a browser busy, and browsers are the heavy part."""
    return max(1, os.cpu_count() or 1)


@dataclass
class WorkerProcess:
    """One running worker process and the number it was started as."""

    number: int
    process: subprocess.Popen

    @property
    def worker_id(self) -> str:
        """The id the worker claims under (see bastidor.service.worker.worker_id_for)."""
        return f"{socket.gethostname()}-{self.process.pid}-w{self.number}"


class WorkerPool:
    """Starts N workers, restarts any that die, and drains them on stop."""

    def __init__(self, home: Path, count: int, queue: Any, audit: Any, *, lease_s: float = 30.0,
                 recycle_after: int = 25, base_url: str | None = None):
        self.home = home
        self.count = count
        self.queue = queue
        self.audit = audit
        self.lease_s = lease_s
        self.recycle_after = recycle_after
        self.base_url = base_url
        self.workers: list[WorkerProcess] = []
        self.retired: list[str] = []
        """Names of this pool's bots that exited, newest last (at most `RETIRED_KEPT`)."""

    def start(self) -> None:
        """Start every worker."""
        self.workers = [self._spawn(number) for number in range(1, self.count + 1)]

    def check(self) -> None:
        """Restart workers that died (their leases expire and their work is picked up again)."""
        for index, worker in enumerate(self.workers):
            code = worker.process.poll()
            if code is not None:
                self.audit.event("worker.restarted", worker=worker.worker_id, exit_code=code)
                self._retire(worker)
                self.workers[index] = self._spawn(worker.number)

    def describe(self) -> list[dict[str, Any]]:
        """Each bot as the services registry records it: name (its worker id), number, pid, alive."""
        return [{"name": worker.worker_id, "number": worker.number, "pid": worker.process.pid,
                 "alive": worker.process.poll() is None} for worker in self.workers]

    def _retire(self, worker: WorkerProcess) -> None:
        self.retired = [*self.retired, worker.worker_id][-RETIRED_KEPT:]

    def stop_claiming(self) -> None:
        """Ask every worker to take no more work (SIGTERM): the item in hand may finish, the rest goes back."""
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)

    def drain(self, timeout_s: float) -> list[str]:
        """Ask every worker to stop; after `timeout_s` kill the rest and put their work back in the queue."""
        self.stop_claiming()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and any(w.process.poll() is None for w in self.workers):
            time.sleep(0.2)
        killed = []
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()
                killed.append(worker.worker_id)
        if killed:
            self._requeue_leases_of_killed(killed)
        return killed

    def _requeue_leases_of_killed(self, killed: list[str]) -> None:
        """The killed workers' leases are dead: hand their rows back at once, recorded as abandoned."""
        try:
            reaped = self.queue.abandon_leases(killed, reason="its worker was killed after the drain timeout")
        except QueueError as error:  # their leases expire, and the next service hands their work back
            self.audit.event("workers.killed_after_drain", workers=killed, error=str(error))
            return
        self.audit.event("workers.killed_after_drain", workers=killed, items_requeued=reaped.items_requeued,
                         runs_requeued=reaped.runs_requeued)
        close_or_keep(self.home, reaped.orphaned_runs, "it was killed after the drain timeout", self.audit,
                      self.queue)

    def _spawn(self, number: int) -> WorkerProcess:
        command = [sys.executable, "-m", "bastidor.service.worker", "--home", str(self.home), "--number",
                   str(number), "--lease", str(self.lease_s), "--recycle-after", str(self.recycle_after)]
        if self.base_url:
            command += ["--base-url", self.base_url]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        worker = WorkerProcess(number, process)
        self.audit.event("worker.started", worker=worker.worker_id, pid=process.pid)
        return worker
