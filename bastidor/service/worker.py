"""A bot worker process: claims run requests, runs them with its own browser, keeps its leases alive.

One Playwright browser per worker. A crashed browser is restarted before the next run, and the
browser is recycled after a number of runs to bound memory. On SIGTERM the worker stops claiming;
the item in hand finishes (the run's item loop stops claiming), then the worker exits.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastidor.executor.run import RunOptions, new_run_id, run_flow
from bastidor.flow.diagnostics import FlowValidationError
from bastidor.flow.loader import load_flow
from bastidor.queue import LeaseLost
from bastidor.secrets import SecretsError, default_secrets
from bastidor.service.heartbeat import Heartbeat
from bastidor.store import open_run_store

RUN_STATES = {"succeeded": "done", "failed": "failed", "crashed": "crashed"}


@dataclass
class ServiceBinding:
    """What a run needs from the service: the queue, who is working, and whether to stop claiming."""

    queue: Any
    worker_id: str
    item_lease_s: float
    stop_event: threading.Event

    def stopping(self) -> bool:
        """True once the worker was asked to stop (drain) or the run hit its time limit."""
        return self.stop_event.is_set()


class Worker:
    """Claims and runs work until told to stop."""

    def __init__(self, worker_id: str, home: Path, queue: Any, *, lease_s: float = 30.0,
                 recycle_after: int = 25, poll_s: float = 0.5, base_url: str | None = None):
        self.worker_id = worker_id
        self.home = home
        self.queue = queue
        self.lease_s = lease_s
        self.recycle_after = recycle_after
        self.poll_s = poll_s
        self.base_url = base_url
        self.stop_event = threading.Event()
        self.runs_on_this_browser = 0
        self.bot: Any = None

    def run_forever(self) -> None:
        """Claim and run requests until stopped; always closes the browser."""
        try:
            while not self.stop_event.is_set():
                request = self.queue.claim_run(self.worker_id, self.lease_s)
                if request is None:
                    self.stop_event.wait(self.poll_s)
                    continue
                self.execute(request)
        finally:
            self._close_bot()

    def execute(self, request: Any) -> str:
        """Run one request and record how it ended in the queue."""
        try:
            flow = load_flow(request.flow_path)
        except FlowValidationError as error:
            self.queue.finish_run(request.id, self.worker_id, "failed", error=str(error))
            return "failed"
        binding = ServiceBinding(self.queue, self.worker_id, self.lease_s, threading.Event())
        with _run_lease(self, request, binding):
            try:
                result = self._run(flow, request, binding)
            except SecretsError as error:
                self.queue.finish_run(request.id, self.worker_id, "failed", error=str(error))
                return "failed"
            except LeaseLost:  # taken back by the service before the run could start: another bot runs it
                print(f"{self.worker_id}: request {request.id} was taken back before its run started",
                      file=sys.stderr, flush=True)
                return "lost"
        state = RUN_STATES.get(result.status, "failed")
        self._finish_request(request, state, result)
        self._after_run(result.status)
        return state

    def _finish_request(self, request: Any, state: str, result: Any) -> None:
        """Record how the request ended. A worker that was too slow to heartbeat lost the request to the
        service (handed back, or ended as crashed): its run is in the run store, the queue keeps its own."""
        try:
            self.queue.finish_run(request.id, self.worker_id, state, run_id=result.run_id, error=result.error)
        except LeaseLost:
            print(f"{self.worker_id}: run {result.run_id} ended {result.status} after the service took its "
                  "request back (the lease expired); the queue's history of that request says what happened",
                  file=sys.stderr, flush=True)

    def _run(self, flow: Any, request: Any, binding: ServiceBinding) -> Any:
        store = open_run_store(self.home / "runs.db")
        try:
            bot = self._bot() if flow.needs_browser() else None
            run_id = new_run_id()
            self.queue.attach_run(request.id, self.worker_id, run_id)
            options = RunOptions(home=self.home, inputs=request.inputs or {}, bot=bot, base_url=self.base_url,
                                 secrets=default_secrets(), service=binding, run_id=run_id)
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
        if status == "crashed" or self.runs_on_this_browser >= self.recycle_after:
            self._close_bot()

    def _close_bot(self) -> None:
        if self.bot is not None:
            try:
                self.bot.stop()
            finally:
                self.bot = None


def _run_lease(worker: Worker, request: Any, binding: ServiceBinding) -> Heartbeat:
    """Heartbeats the run request's lease and enforces the run's time limit while it runs: past the
    limit, or when the lease is lost, the run stops claiming items."""
    started = time.monotonic()

    def beat() -> bool:
        limit = request.timeout_s
        if worker.stop_event.is_set() or (limit and time.monotonic() - started > limit):
            binding.stop_event.set()
        if not worker.queue.heartbeat_run(request.id, worker.worker_id, worker.lease_s):
            binding.stop_event.set()
            return False
        return True

    return Heartbeat(worker.lease_s / 3, beat, name="run-lease")


def worker_id_for(number: int) -> str:
    """A worker id unique to this host and process."""
    return f"{socket.gethostname()}-{os.getpid()}-w{number}"


def main(argv: list[str] | None = None) -> int:
    """Entry point of a worker process started by the service."""
    parser = argparse.ArgumentParser(prog="bastidor-worker")
    parser.add_argument("--home", required=True)
    parser.add_argument("--number", type=int, default=1)
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--recycle-after", type=int, default=25)
    parser.add_argument("--base-url")
    args = parser.parse_args(argv)
    from bastidor.queue import open_work_queue

    home = Path(args.home)
    worker = Worker(worker_id_for(args.number), home, open_work_queue(home / "queue.db"), lease_s=args.lease,
                    recycle_after=args.recycle_after, base_url=args.base_url)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop_event.set())
    signal.signal(signal.SIGINT, lambda *_: worker.stop_event.set())
    worker.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
