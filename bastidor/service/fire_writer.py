"""The one thread that records fires, so APScheduler's thread never waits on I/O: it takes every fire waiting,
coalesces each schedule's older fires into its latest when it fell behind, and records them in batches."""

from __future__ import annotations

import queue
import threading
from collections import Counter

from bastidor.schedule import fire_key
from bastidor.schedule.backlog import BacklogPlan, Fire, batches, plan_backlog
from bastidor.service.fire_recorder import Clock, FireRecorder, utc_now

FIRES_PER_TRANSACTION = 500
"""The most fires recorded in one transaction, so that bots waiting to claim work never wait long."""


class FireWriter:
    """The one thread that records fires: it takes every fire waiting, coalesces each schedule's older fires
    into its latest (`plan_backlog`) and records the rest, `FIRES_PER_TRANSACTION` per transaction."""

    def __init__(self, recorder: FireRecorder, clock: Clock = utc_now):
        self.recorder = recorder
        self.clock = clock
        self.coalesced: Counter[str] = Counter()
        """Fire times coalesced without a row of their own since the start, by schedule id."""
        self._waiting: queue.SimpleQueue[Fire | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._dropped: list[Fire] = []
        self._thread = threading.Thread(target=self._write_until_stopped, name="fire-recorder", daemon=True)

    def start(self) -> None:
        """Start recording in the background."""
        self._thread.start()

    @property
    def stopping(self) -> bool:
        """True once `stop` was called: no more batches are started and new fires are ignored."""
        return self._stopping.is_set()

    def put(self, fire: Fire) -> None:
        """Hand over a fire to record; returns at once (ignored once stopping)."""
        if not self.stopping:
            self._waiting.put(fire)

    def stop(self) -> Counter[str]:
        """Stop at once: the batch being recorded is finished, the fires still waiting are dropped. Returns
        how many fire times of each schedule were dropped."""
        self._stopping.set()
        self._waiting.put(None)
        if self._thread.is_alive():
            self._thread.join()
        dropped: Counter[str] = Counter()
        for fire in self._dropped + self._take_waiting():
            dropped[fire.schedule.id] += 1 + fire.earlier
        return dropped

    def _write_until_stopped(self) -> None:
        while not self.stopping:
            waiting = self._take_waiting(block=True)
            if self.stopping:
                self._dropped += waiting
                return
            self._write(plan_backlog(waiting, self.clock()))

    def _write(self, plan: BacklogPlan) -> None:
        if plan.coalesced:
            self.coalesced.update(plan.coalesced)
            self.recorder.audit.event("schedule.coalesced", fires=plan.total_coalesced,
                                      by_schedule=dict(plan.coalesced), reason="the scheduler fell behind: only "
                                      "the latest waiting fire of each schedule was recorded")
        for batch in batches(plan.fires, FIRES_PER_TRANSACTION):
            if self.stopping:
                self._dropped += batch
                continue
            try:
                self.recorder.record(batch)
            except Exception as error:  # fires that cannot be recorded must not stop all later ones
                self._report_lost(batch, error)

    def _take_waiting(self, block: bool = False) -> list[Fire]:
        """Every fire waiting (after waiting for the first one when `block`)."""
        taken = [self._waiting.get()] if block else []
        while not self._waiting.empty():
            taken.append(self._waiting.get())
        return [fire for fire in taken if fire is not None]

    def _report_lost(self, batch: list[Fire], error: Exception) -> None:
        try:
            self.recorder.audit.event("schedule.fire_failed", error=f"{type(error).__name__}: {error}",
                                      keys=[fire_key(fire.schedule.id, fire.fire_time) for fire in batch])
        except Exception:  # the service log itself is broken: nothing more can be said
            pass
