"""A bot worker process: claims run requests, runs them with its own browser, keeps its leases alive.

One Playwright browser per worker. A crashed browser is restarted before the next run, and the
browser is recycled after a number of runs to bound memory. Once a run that used the browser has ended, the
worker opens the next run's browser context while idle (with that run's settings; see `bastidor.bots.warm`),
so a run claimed later starts its first browser step without waiting for one; BASTIDOR_WARM_CONTEXTS=0 turns
that off. On SIGTERM the worker stops claiming; the item in hand finishes, the run ends as interrupted when
items are left, its request goes back to the queue, then the worker exits. A worker dies with its service
(see `bastidor.service.strays`), and waits and tries again when the work queue or the run store cannot be
used (a full disk, a locked file).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bastidor.executor.run import RunOptions, new_run_id, run_flow
from bastidor.flow.diagnostics import FlowValidationError
from bastidor.flow.loader import load_flow
from bastidor.queue import LeaseLost, QueueError
from bastidor.secrets import SecretsError, default_secrets
from bastidor.service.binding import SERVICE_GONE, SERVICE_STOPPING, ServiceBinding
from bastidor.service.health import FAULT_WAITS_S
from bastidor.service.heartbeat import Heartbeat
from bastidor.service.run_lines import RunStartLine, print_request_not_run, print_run_finished
from bastidor.service.strays import die_with_parent, registered_worker
from bastidor.store import StoreError, open_run_store
from bastidor.database.places import places_for

__all__ = ["ServiceBinding", "Worker", "main", "worker_id_for"]

RUN_STATES = {"succeeded": "done", "failed": "failed", "crashed": "crashed", "interrupted": "interrupted"}
WARM_SWITCH = "BASTIDOR_WARM_CONTEXTS"
"""Environment variable: 0 (or no, off, false) stops workers opening the next run's context ahead."""


def warm_contexts_wanted() -> bool:
    """Whether workers open the next run's browser context ahead (on unless BASTIDOR_WARM_CONTEXTS says 0)."""
    return os.environ.get(WARM_SWITCH, "1").strip().lower() not in ("0", "no", "off", "false")


class Worker:
    """Claims and runs work until told to stop, or until the service that started it is gone."""

    def __init__(self, worker_id: str, home: Path, queue: Any, *, lease_s: float = 30.0,
                 recycle_after: int = 25, poll_s: float = 0.5, base_url: str | None = None,
                 parent_pid: int | None = None):
        self.worker_id = worker_id
        self.home = home
        self.queue = queue
        self.lease_s = lease_s
        self.recycle_after = recycle_after
        self.poll_s = poll_s
        self.base_url = base_url
        self.parent_pid = parent_pid
        self.stop_event = threading.Event()
        self.runs_on_this_browser = 0
        self.bot: Any = None
        self.current: ServiceBinding | None = None
        self.faults = 0
        self.warm = warm_contexts_wanted()
        self.context_settings: Any = None
        """The browser context settings of the last run that used the browser: the next context is opened
        ahead with them."""

    def request_stop(self, reason: str = SERVICE_STOPPING) -> None:
        """Take no more work; the run in hand stops taking items and its request goes back to the queue."""
        self.stop_event.set()
        current = self.current
        if current is not None:
            current.stop(reason, requeue=True)

    def should_stop(self) -> bool:
        """True once asked to stop, or when the service that started this worker is gone."""
        if self.parent_pid is not None and os.getppid() != self.parent_pid:
            self.request_stop(SERVICE_GONE)
        return self.stop_event.is_set()

    def run_forever(self) -> None:
        """Claim and run requests until stopped; always closes the browser."""
        try:
            while not self.should_stop():
                try:
                    request = self.queue.claim_run(self.worker_id, self.lease_s)
                except QueueError as error:
                    self.storage_fault(error)
                    continue
                self.faults = 0
                if request is None:
                    self.stop_event.wait(self.poll_s)
                    continue
                self.execute(request)
        finally:
            self._close_bot()

    def storage_fault(self, error: Exception) -> None:
        """Say that the queue or the run store cannot be used, then wait longer after each fault in a row."""
        wait_s = FAULT_WAITS_S[min(self.faults, len(FAULT_WAITS_S) - 1)]
        self.faults += 1
        print(f"{self.worker_id}: storage fault: {error}; trying again in {wait_s:g} s", file=sys.stderr, flush=True)
        self.stop_event.wait(wait_s)

    def execute(self, request: Any) -> str:
        """Run one request and record how it ended in the queue; returns the request's new state."""
        try:
            flow = load_flow(request.flow_path)
        except FlowValidationError as error:
            print_request_not_run(self.worker_id, request.id, request.flow_path, str(error))
            return self._end(request, "failed", None, str(error))
        binding = ServiceBinding(self.queue, self.worker_id, self.lease_s, threading.Event(),
                                 request_id=request.id, parent_pid=self.parent_pid)
        self.current = binding
        if self.stop_event.is_set():
            binding.stop(SERVICE_STOPPING, requeue=True)
        try:
            with _run_lease(self, request, binding):
                result = self._run(flow, request, binding)
        except SecretsError as error:
            print_request_not_run(self.worker_id, request.id, request.flow_path, str(error))
            return self._end(request, "failed", None, str(error))
        except LeaseLost:  # taken back by the service before the run could start: another bot runs it
            print(f"{self.worker_id}: request {request.id} was taken back before its run started",
                  file=sys.stderr, flush=True)
            return "lost"
        except (QueueError, StoreError) as error:  # the run could not be started: its lease will expire
            self.storage_fault(error)
            return "crashed"
        finally:
            self.current = None
        print_run_finished(self.worker_id, result)
        return self._settle(request, result)

    def _settle(self, request: Any, result: Any) -> str:
        """Give the request back (a drained run) or end it as its run ended."""
        if result.status == "interrupted" and result.requeue:
            state = self._release(request, result)
        else:
            state = self._end(request, RUN_STATES.get(result.status, "failed"), result.run_id, result.error)
        self._after_run(result.status)
        return state

    def _release(self, request: Any, result: Any) -> str:
        try:
            self.queue.release_run(request.id, self.worker_id)
        except QueueError as error:  # the service took it back already, or will when the lease expires
            print(f"{self.worker_id}: run {result.run_id} was interrupted but its request could not be handed "
                  f"back ({error}); the service takes it back when its lease expires", file=sys.stderr, flush=True)
        return "queued"

    def _end(self, request: Any, state: str, run_id: str | None, error: str | None) -> str:
        """Record how the request ended. A worker that was too slow to heartbeat lost the request to the
        service (handed back, or ended as crashed): its run is in the run store, the queue keeps its own."""
        try:
            self.queue.finish_run(request.id, self.worker_id, state, run_id=run_id, error=error)
        except LeaseLost:
            print(f"{self.worker_id}: run {run_id} ended {state} after the service took its request back (the "
                  "lease expired); the queue's history of that request says what happened", file=sys.stderr,
                  flush=True)
        except QueueError as fault:  # the lease expires, then the service hands the request out again
            self.storage_fault(fault)
        return state

    def _run(self, flow: Any, request: Any, binding: ServiceBinding) -> Any:
        store = open_run_store(places_for(self.home).runs)
        try:
            bot = self._bot() if flow.needs_browser() else None
            run_id = new_run_id()
            self.queue.attach_run(request.id, self.worker_id, run_id)
            options = RunOptions(home=self.home, inputs=request.inputs or {}, bot=bot, base_url=self.base_url,
                                 secrets=default_secrets(), service=binding, run_id=run_id,
                                 progress=RunStartLine(self.worker_id))
            return run_flow(flow, options, store)
        finally:
            store.close()

    def _bot(self) -> Any:
        from bastidor.bots.session import Bot

        if self.bot is not None and not self.bot.is_healthy():
            self._close_bot()
        if self.bot is None:
            self.bot = Bot()
            self.bot.start()
            self.runs_on_this_browser = 0
        return self.bot

    def _after_run(self, status: str) -> None:
        self.runs_on_this_browser += 1
        if self.bot is not None and self.bot.last_settings is not None:
            self.context_settings = self.bot.last_settings
        if status == "crashed" or self.runs_on_this_browser >= self.recycle_after:
            self._close_bot()
        self._warm_up()

    def _warm_up(self) -> None:
        """Open the next run's browser context now, while idle: with the last browser run's settings, in the
        running browser (or a new one, after a crash or a recycle). Nothing is opened before the first run
        that needs a browser, or once the worker is stopping; a browser that will not start is left to the
        next run, which says why."""
        if not self.warm or self.context_settings is None or self.stop_event.is_set():
            return
        try:
            self._bot().prepare(self.context_settings)
        except Exception as error:  # the next run starts its browser itself, and reports what goes wrong
            print(f"{self.worker_id}: could not open the next run's browser ahead: {error}", file=sys.stderr,
                  flush=True)
            self._close_bot()

    def _close_bot(self) -> None:
        if self.bot is not None:
            try:
                self.bot.stop()
            finally:
                self.bot = None


def _run_lease(worker: Worker, request: Any, binding: ServiceBinding) -> Heartbeat:
    """Heartbeats the run request's lease and enforces the run's time limit while it runs: past the
    limit, or when the lease is lost, the run stops taking items (and ends interrupted if some are left)."""
    started = time.monotonic()

    def beat() -> bool:
        limit = request.timeout_s
        if limit and time.monotonic() - started > limit:
            binding.stop(f"the run's time limit ({limit:g} s) was reached", requeue=False)
        if not worker.queue.heartbeat_run(request.id, worker.worker_id, worker.lease_s):
            binding.stop("the run's lease was lost (the service took its request back)", requeue=False)
            return False
        return True

    return Heartbeat(worker.lease_s / 3, beat, name="run-lease")


def worker_id_for(number: int) -> str:
    """A worker id unique to this host and process."""
    return f"{socket.gethostname()}-{os.getpid()}-w{number}"


def main(argv: list[str] | None = None) -> int:
    """Entry point of a worker process started by the service."""
    die_with_parent()
    parent = os.getppid()
    parser = argparse.ArgumentParser(prog="bastidor-worker")
    parser.add_argument("--home", required=True)
    parser.add_argument("--number", type=int, default=1)
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--recycle-after", type=int, default=25)
    parser.add_argument("--base-url")
    args = parser.parse_args(argv)
    home = Path(args.home)
    worker = Worker(worker_id_for(args.number), home, None, lease_s=args.lease, recycle_after=args.recycle_after,
                    base_url=args.base_url, parent_pid=parent)
    signal.signal(signal.SIGTERM, lambda *_: worker.request_stop())
    signal.signal(signal.SIGINT, lambda *_: worker.request_stop())
    worker.queue = _open_queue(worker, home)
    if worker.queue is not None:
        with registered_worker(home, worker.worker_id, parent):
            worker.run_forever()
    return 0


def _open_queue(worker: Worker, home: Path) -> Any:
    """The work queue, waiting through storage faults; None when the worker was stopped meanwhile."""
    from bastidor.queue import open_work_queue

    while not worker.should_stop():
        try:
            return open_work_queue(places_for(home).queue)
        except QueueError as error:
            worker.storage_fault(error)
    return None


if __name__ == "__main__":
    sys.exit(main())
