"""`serve`: the unattended service. Exactly one active scheduler (others stand by) plus a worker pool."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastidor.audit import AuditLog, SecretMasker
from bastidor.schedule import load_schedules
from bastidor.service.alerts import MisfireAlerter, misfire_alerter
from bastidor.service.lock import SchedulerLock
from bastidor.service.orphans import close_or_keep
from bastidor.service.pool import WorkerPool
from bastidor.service.reload import ScheduleWatcher
from bastidor.service.scheduler import FireRecorder, Scheduler


DEMO_PORTAL_PORT = 8765


@dataclass
class ServiceSettings:
    """How the service runs."""

    home: Path
    schedules: Path
    workers: int
    drain_timeout_s: float = 60.0
    lease_s: float = 30.0
    recycle_after: int = 25
    base_url: str | None = None
    reload_interval_s: float = 2.0
    demo_portal: bool = False


def open_service_audit(home: Path, schedules: Path) -> AuditLog:
    """A hash-chained audit log for this service process (schedule changes, fires, workers)."""
    started = dt.datetime.now(dt.timezone.utc)
    run_id = f"service-{started:%Y%m%d-%H%M%S}-{os.getpid()}"
    digest = hashlib.sha256(schedules.read_bytes()).hexdigest() if schedules.is_file() else "0" * 64
    return AuditLog.open(home / "service" / f"{run_id}.jsonl", run_id=run_id, flow="bastidor-service",
                         flow_sha256=digest, masker=SecretMasker())


class Service:
    """Runs the scheduler (when this process holds the lock) and the worker pool until SIGTERM or SIGINT."""

    def __init__(self, settings: ServiceSettings, queue: Any):
        self.settings = settings
        self.queue = queue
        self.stop_event = threading.Event()
        self.audit = open_service_audit(settings.home, settings.schedules)
        self.lock = SchedulerLock(settings.home / "scheduler.lock")
        self.scheduler: Scheduler | None = None
        self.watcher: ScheduleWatcher | None = None
        self.alerter: MisfireAlerter | None = None
        self.orphans: list[str] = []  # runs of dead workers not yet ended in the run store (kept while it is busy)
        self.pool = WorkerPool(settings.home, settings.workers, queue, self.audit, lease_s=settings.lease_s,
                               recycle_after=settings.recycle_after, base_url=settings.base_url)

    def run(self) -> int:
        """Serve until asked to stop; returns the exit code."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop_event.set())
        self.audit.event("service.started", host=socket.gethostname(), pid=os.getpid(),
                         workers=self.settings.workers, schedules=str(self.settings.schedules))
        portal = self._start_demo_portal() if self.settings.demo_portal else None
        try:
            return self._serve()
        finally:
            if portal is not None:
                portal.stop()

    def _serve(self) -> int:
        self.pool.start()
        announced_standby = False
        while not self.stop_event.is_set():
            if self.scheduler is None and self.lock.try_acquire():
                self._become_active()
            elif self.scheduler is None and not announced_standby:
                print(f"another scheduler is active (pid {self.lock.holder()}); this one stands by", flush=True)
                self.audit.event("scheduler.standby", holder=self.lock.holder())
                announced_standby = True
            self.pool.check()
            self._reap()
            self.stop_event.wait(1.0)
        return self._stop()

    def _start_demo_portal(self) -> Any:
        """Serve the bundled portal on 127.0.0.1:8765 and hand its credentials to the workers."""
        import secrets as token

        from bastidor.demo_portal import PortalSettings, start_portal

        password = token.token_urlsafe(12)
        settings = PortalSettings(db_path=self.settings.home / "demo-portal.db", password=password)
        portal = start_portal(settings, port=DEMO_PORTAL_PORT)
        os.environ["BASTIDOR_SECRET_PORTAL_USER"] = settings.username
        os.environ["BASTIDOR_SECRET_PORTAL_PASSWORD"] = password
        print(f"demo portal at {portal.url} (orders: {portal.url}/orders, user {settings.username})", flush=True)
        return portal

    def _reap(self) -> None:
        """Leases that expired (a worker died or hung) go back to the queue; the audit log says which."""
        reaped = self.queue.reap_expired()
        if reaped.total:
            self.audit.event("leases.expired", items_requeued=reaped.items_requeued,
                             items_failed=reaped.items_failed, runs_requeued=reaped.runs_requeued,
                             runs_crashed=reaped.runs_crashed)
        self.orphans += [run_id for run_id in reaped.orphaned_runs if run_id not in self.orphans]
        if self.orphans:
            self.orphans = close_or_keep(self.settings.home, self.orphans, "its lease expired", self.audit)

    def _become_active(self) -> None:
        schedule_set = load_schedules(self.settings.schedules)
        self.alerter = misfire_alerter(self.settings.home, self.audit)
        self.scheduler = Scheduler(FireRecorder(self.queue, self.audit, on_misfire=self.alerter))
        self.scheduler.start(schedule_set)
        self.watcher = ScheduleWatcher(self.settings.schedules, self.scheduler, self.audit, schedule_set,
                                       self.settings.reload_interval_s)
        self.watcher.start()
        print(f"scheduler active with {len(schedule_set.schedules)} schedule(s)", flush=True)
        self.audit.event("scheduler.active", schedules=[s.id for s in schedule_set.schedules])

    def _stop(self) -> int:
        print("stopping: no new work is claimed; draining workers", flush=True)
        if self.watcher is not None:
            self.watcher.stop()
        if self.scheduler is not None:
            self.scheduler.shutdown()
        killed = self.pool.drain(self.settings.drain_timeout_s)
        self.lock.release()
        if self.alerter is not None:
            self.alerter.close()  # its last audit records come before run.finished
        self.audit.event("run.finished", status="stopped", killed_after_drain=killed)
        self.audit.close()
        return 0
