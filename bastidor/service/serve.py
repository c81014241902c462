"""`serve`: the unattended service. Exactly one active scheduler (others stand by) plus a worker pool."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastidor.audit import AuditLog, AuditWriteError, SecretMasker
from bastidor.queue import QueueError
from bastidor.schedule import load_schedules
from bastidor.service.alerts import MisfireAlerter, misfire_alerter
from bastidor.service.event_watch import EventWatchers
from bastidor.service.health import FaultWatch
from bastidor.service.journal import ServiceJournal
from bastidor.service.leadership import SchedulerRole
from bastidor.service.lock import scheduler_lock
from bastidor.service.orphans import close_or_keep
from bastidor.service.pool import WorkerPool
from bastidor.service.presence import Presence
from bastidor.service.registry import DRAINING
from bastidor.service.reload import ScheduleWatcher
from bastidor.service.scheduler import FireRecorder, Scheduler
from bastidor.service.strays import stop_stray_workers, stray_workers
from bastidor.store import StoreError
from bastidor.database.places import places_for


DEMO_PORTAL_PORT = 8765
STALE_CHECK_S = 30.0
AUDIT_CATCH_UP_S = 300.0
"""How often a service on a shared database sends the audit logs and evidence its runs could not send when
they ended (the database was out of reach), and those of runs killed before they could."""
AUDIT_CATCH_UP_RUNS = 20
"""At most this many runs per catch-up, so a home full of history never holds up the service's round."""


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
    demo_portal_port: int = DEMO_PORTAL_PORT


def open_service_audit(home: Path, schedules: Path) -> ServiceJournal:
    """A hash-chained audit log for this service process (schedule changes, fires, workers), kept through
    storage faults (see `ServiceJournal`)."""
    started = dt.datetime.now(dt.timezone.utc)
    run_id = f"service-{started:%Y%m%d-%H%M%S}-{os.getpid()}"
    digest = hashlib.sha256(schedules.read_bytes()).hexdigest() if schedules.is_file() else "0" * 64
    path = home / "service" / f"{run_id}.jsonl"
    return ServiceJournal(path, lambda: AuditLog.open(path, run_id=run_id, flow="bastidor-service",
                                                      flow_sha256=digest, masker=SecretMasker()))


class Service:
    """Runs the scheduler (when this process holds the lock) and the worker pool until SIGTERM or SIGINT."""

    def __init__(self, settings: ServiceSettings, queue: Any):
        self.settings = settings
        self.queue = queue
        self.stop_event = threading.Event()
        self.audit = open_service_audit(settings.home, settings.schedules)
        self.role = SchedulerRole(scheduler_lock(settings.home), self._become_active, self.audit)
        self.next_stale_check = 0.0
        self.next_audit_catch_up = 0.0
        self.orphans: list[str] = []  # runs of dead workers not yet ended in the run store (kept while it is busy)
        self.faults = FaultWatch(settings.home)
        self.pool = WorkerPool(settings.home, settings.workers, queue, self.audit, lease_s=settings.lease_s,
                               recycle_after=settings.recycle_after, base_url=settings.base_url)
        self.presence = Presence(settings.home, places_for(settings.home).queue)

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
                print(f"demo portal at {portal.url} stopped", flush=True)

    def _serve(self) -> int:
        self._stop_stray_workers()
        self._check_clock()
        self.pool.start()
        self.role.begin()
        while not self.stop_event.is_set():
            self._tick()
            self.stop_event.wait(self.faults.wait_s())
        return self._stop()

    def _tick(self) -> None:
        """One round of the service's own work. A storage fault (a full disk, a read-only or locked file)
        is reported and tried again with backoff; it never ends the service or orphans its bots."""
        try:
            self.pool.check()
            self.role.try_to_lead()
            self._beat()
            self._reap()
        except (QueueError, StoreError, AuditWriteError, OSError) as error:
            self.faults.failed(error)
            return
        journal_fault = self.audit.recover()
        if journal_fault is not None:  # only the service's own log cannot be written: a fault all the same
            self.faults.failed(AuditWriteError(journal_fault))
            return
        cleared = self.faults.ok()
        if cleared is not None:
            self.audit.event("service.fault_cleared", fault=cleared, since=self.faults.since)

    def _beat(self, state: str = "running") -> None:
        """This service's heartbeat in the services registry (written when due, or at once on a change)."""
        self.presence.beat(holds_scheduler=self.role.active, workers=self.pool.describe(),
                           retired_workers=self.pool.retired, state=state, fault=self.faults.fault)

    def _check_clock(self) -> None:
        """On a shared database, say at start when this machine's clock is off the database server's."""
        from sqlalchemy.exc import SQLAlchemyError

        from bastidor.database.clock import clock_warning

        places = places_for(self.settings.home)
        if not places.shared:
            return
        try:
            warning = clock_warning(places.url)
        except SQLAlchemyError:
            return  # the database is out of reach: the round's own fault handling says so
        if warning:
            print(warning, flush=True)
            self.audit.event("service.clock_skew", warning=warning)

    def _stop_stray_workers(self) -> None:
        """Bots of an earlier service of this home that died without them: wait for them to finish their item
        (they were told to stop when it died), stop them if they do not, and put their work back."""
        strays = stray_workers(self.settings.home)
        if not strays:
            return
        pids = ", ".join(str(entry["pid"]) for entry in strays)
        print(f"waiting up to {self.settings.drain_timeout_s:g} s for {len(strays)} bot(s) of a service that died "
              f"(pids {pids}) to finish their items", flush=True)
        killed = stop_stray_workers(self.settings.home, self.settings.drain_timeout_s)
        reaped = self.queue.abandon_leases([entry["worker"] for entry in killed],
                                           reason="its service died and it did not stop in time") if killed else None
        self.audit.event("workers.strays_stopped", pids=[entry["pid"] for entry in strays],
                         killed=[entry["pid"] for entry in killed],
                         items_requeued=reaped.items_requeued if reaped else [])

    def _start_demo_portal(self) -> Any:
        """Serve the bundled portal on 127.0.0.1 (port 8765 unless set) and hand its credentials to the workers."""
        import secrets as token

        from bastidor.demo_portal import PortalSettings, start_portal

        password = token.token_urlsafe(12)
        settings = PortalSettings(db_path=self.settings.home / "demo-portal.db", password=password)
        portal = start_portal(settings, port=self.settings.demo_portal_port)
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
        if reaped.resumed:
            self.audit.event("requests.resumed", requests=reaped.resumed)
        self.orphans += [run_id for run_id in reaped.orphaned_runs if run_id not in self.orphans]
        if self.orphans:
            self.orphans = close_or_keep(self.settings.home, self.orphans, "its lease expired", self.audit,
                                         self.queue)
        if time.monotonic() >= self.next_stale_check:
            self.next_stale_check = time.monotonic() + STALE_CHECK_S
            self._end_stale_runs()
        if time.monotonic() >= self.next_audit_catch_up:
            self.next_audit_catch_up = time.monotonic() + AUDIT_CATCH_UP_S
            self._ship_pending_audit()

    def _ship_pending_audit(self) -> None:
        """On a shared database: send what it lacks of this home's audit logs and evidence (see
        `bastidor.audit.shipping`). A database out of reach is tried again at the next catch-up."""
        from sqlalchemy.exc import SQLAlchemyError

        from bastidor.audit.shipping import ship_pending

        places = places_for(self.settings.home)
        if not places.shared:
            return
        try:
            shipped = ship_pending(self.settings.home, places.url, limit=AUDIT_CATCH_UP_RUNS)
        except (SQLAlchemyError, OSError) as error:
            self.audit.event("audit.catch_up_failed", error=f"{type(error).__name__}: {error}"[:500])
            return
        if len(shipped) >= AUDIT_CATCH_UP_RUNS:  # more are waiting: go on at the next round
            self.next_audit_catch_up = 0.0
        unreadable = {report.run_id: report.unreadable for report in shipped if report.unreadable}
        if unreadable:
            self.audit.event("audit.catch_up_unreadable", runs=unreadable)
        sent = [report.run_id for report in shipped if report.lines_added or report.artifacts_added]
        if sent:
            self.audit.event("audit.caught_up", run_ids=sent)
        differing = {report.run_id: report.conflicts for report in shipped if report.conflicts}
        if differing:  # the local log or the database's copy was changed after shipping: say so, loudly
            print(f"warning: the audit log of run(s) {', '.join(differing)} differs from the shared database's "
                  "copy: run `runner.py audit verify RUN` on each", flush=True)
            self.audit.event("audit.copy_differs", runs=differing)

    def _end_stale_runs(self) -> None:
        """Runs of this host still "running" after their process died (an attended run killed, or one whose
        run store was unwritable when it ended) are ended from their audit log, or as crashed."""
        from bastidor.store import open_run_store
        from bastidor.store.stale import end_stale_runs

        with open_run_store(places_for(self.settings.home).runs) as store:
            ended = end_stale_runs(store, self.queue)
        if ended:
            self.audit.event("runs.stale_ended", run_ids=ended)

    def _become_active(self) -> "ActiveScheduler":
        """Start the scheduler (this service now holds the lock): catch up on missed fires, then fire."""
        schedule_set = load_schedules(self.settings.schedules)
        alerter = misfire_alerter(self.settings.home, self.audit)
        recorder = FireRecorder(self.queue, self.audit, on_misfire=alerter)
        scheduler = Scheduler(recorder, events=EventWatchers(recorder, self.settings.home))
        try:
            scheduler.start(schedule_set)  # catch-up may meet a storage fault: the next round tries again
        except BaseException:
            scheduler.shutdown()
            alerter.close()
            raise
        watcher = ScheduleWatcher(self.settings.schedules, scheduler, self.audit, schedule_set,
                                  self.settings.reload_interval_s)
        watcher.start()
        print(f"scheduler active with {len(schedule_set.schedules)} schedule(s)", flush=True)
        self.audit.event("scheduler.active", schedules=[s.id for s in schedule_set.schedules])
        self._warn_if_overloaded(schedule_set)
        return ActiveScheduler(scheduler, watcher, alerter)

    def _warn_if_overloaded(self, schedule_set: Any) -> None:
        """Say at start-up when the schedules keep more bots busy than this service has workers."""
        from bastidor.schedule.capacity import overload_warning

        try:
            warning = overload_warning(schedule_set.enabled(), places_for(self.settings.home).runs, self.settings.workers,
                                       dt.datetime.now(dt.timezone.utc))
        except Exception as error:  # a check that cannot be made never stops the scheduler
            warning = f"the schedules' demand on the workers could not be checked: {type(error).__name__}: {error}"
        if warning:
            print(warning, flush=True)
            self.audit.event("schedules.overload_warning", warning=warning)

    def _stop(self) -> int:
        print("stopping: no new work is claimed; draining workers", flush=True)
        self.pool.stop_claiming()
        self.role.end()  # the alerter's last audit records come before run.finished; a standby takes over now
        self._registry_best_effort(lambda: self._beat(DRAINING))
        killed = self.pool.drain(self.settings.drain_timeout_s)
        self._registry_best_effort(self.presence.stopped)
        self.audit.event("run.finished", status="stopped", killed_after_drain=killed)
        self.audit.close()
        return 0

    def _registry_best_effort(self, write: Any) -> None:
        """Tell the services registry how this service stops; a failure is audited, never stops the stop."""
        try:
            write()
        except QueueError as error:
            self.audit.event("services.registry_unwritable", error=str(error))


@dataclass
class ActiveScheduler:
    """What runs while this service is the active scheduler."""

    scheduler: Scheduler
    watcher: ScheduleWatcher
    alerter: MisfireAlerter

    def stop(self) -> None:
        """Stop firing and watching the schedules file; then the alerter sends what it still holds."""
        self.watcher.stop()
        self.scheduler.shutdown()
        self.alerter.close()
