"""A scheduler that falls behind stays on time and stops at once: a backlog of one schedule's fires becomes
one run with the others counted as coalesced, a fire reached after its grace is recorded as missed, and
shutdown drops (and counts) what is still waiting instead of recording it.

Real SQLite work queue and audit log in tmp_path, the real recording thread, an injected clock; the waits
are on observable state (queue rows, a thread that is blocked), never a fixed sleep.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from collections import Counter
from pathlib import Path

import pytest

from bastidor.audit import AuditLog, SecretMasker
from bastidor.queue import open_work_queue
from bastidor.schedule import load_schedules
from bastidor.schedule.backlog import Fire, plan_backlog
from bastidor.service.scheduler import FireRecorder, Scheduler
from service_support import wait_until

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 1, 7, 9, 0, tzinfo=UTC)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def service(tmp_path: Path):
    """A scheduler (not firing by itself) over a real queue and audit log, its clock at T0 + 3 s, and the
    schedule `job` (every second, grace 6 s, overlap allow)."""
    (tmp_path / "tiny.yaml").write_text("name: Tiny\nsteps:\n  - log: hello\n", encoding="utf-8")
    (tmp_path / "schedules.yaml").write_text(
        "schedules:\n  - {id: job, flow: tiny.yaml, trigger: {interval: 1s}, misfire_grace: 6s, overlap: allow}\n",
        encoding="utf-8")
    queue = open_work_queue(tmp_path / "queue.db")
    audit = AuditLog.open(tmp_path / "service.jsonl", run_id="svc", flow="service", flow_sha256="0" * 64,
                          masker=SecretMasker())
    clock = lambda: T0 + 3 * SECOND  # noqa: E731
    yield Scheduler(FireRecorder(queue, audit, clock), clock), load_schedules(tmp_path / "schedules.yaml").by_id["job"]
    audit.close()
    queue.close()


def requests(scheduler: Scheduler) -> dict[str, tuple[str, str | None]]:
    return {run.key: (run.state, run.error) for run in scheduler.recorder.queue.list_runs(limit=10_000)}


def audit_records(tmp_path: Path, event: str) -> list[dict]:
    records = [json.loads(line) for line in (tmp_path / "service.jsonl").read_text().splitlines()]
    return [record for record in records if record["event"] == event]



def recorder_threads() -> set[threading.Thread]:
    """The fire-recording threads alive now (other tests' schedulers may have left theirs)."""
    return {thread for thread in threading.enumerate() if thread.name == "fire-recorder"}


def test_a_backlog_of_one_schedules_fires_becomes_one_run_and_the_others_are_counted_in_the_audit_log(
        service, tmp_path):
    scheduler, job = service
    other = dataclasses.replace(job, id="other")
    for fire in (Fire(job, T0), Fire(job, T0 + SECOND), Fire(other, T0 + SECOND), Fire(job, T0 + 2 * SECOND)):
        scheduler.writer.put(fire)  # all waiting before the recording thread starts: one backlog
    scheduler.writer.start()
    assert wait_until(lambda: len(requests(scheduler)) == 2)
    scheduler.shutdown()
    assert requests(scheduler) == {"job@2026-01-07T09:00:02Z": ("queued", None),
                                   "other@2026-01-07T09:00:01Z": ("queued", None)}
    [coalesced] = audit_records(tmp_path, "schedule.coalesced")
    assert (coalesced["fires"], coalesced["by_schedule"]) == (2, {"job": 2})
    [stopped] = audit_records(tmp_path, "scheduler.stopped")
    assert stopped["coalesced_by_schedule"] == {"job": 2} and stopped["fires_dropped"] == 0


def test_fire_times_apscheduler_found_due_together_are_coalesced_and_counted_too(service):
    _, job = service
    plan = plan_backlog([Fire(job, T0 + 5 * SECOND, earlier=4), Fire(job, T0 + 5 * SECOND)], T0 + 5 * SECOND)
    assert [fire.fire_time for fire in plan.fires] == [T0 + 5 * SECOND]
    assert plan.coalesced == Counter({"job": 4}), "the same fire time twice is one fire, not a coalesced one"


def test_a_fire_reached_after_its_grace_is_recorded_as_missed_and_alerted_not_queued_late(service, tmp_path):
    scheduler, job = service
    alerts = []
    scheduler.recorder.on_misfire = lambda schedule, fire_time, why, detail: alerts.append((fire_time, why))
    late = T0 - 4 * SECOND  # 7 s late at the clock's T0 + 3 s: beyond the 6 s grace
    scheduler.writer.put(Fire(job, late))
    scheduler.writer.start()
    assert wait_until(lambda: requests(scheduler))
    scheduler.shutdown()
    reason = "missed by more than the misfire grace (6 s)"
    assert requests(scheduler) == {"job@2026-01-07T08:59:56Z": ("missed", reason)}
    assert alerts == [(late, "missed")]


class SlowDisk:
    """The work queue, except that recording a batch waits until `may_finish()` holds (a slow disk)."""

    def __init__(self, queue):
        self.queue = queue
        self.entered = threading.Event()
        self.may_finish = lambda: True

    def __getattr__(self, name):
        return getattr(self.queue, name)

    def record_fires(self, *args, **kwargs):
        self.entered.set()
        assert wait_until(self.may_finish)
        return self.queue.record_fires(*args, **kwargs)


def test_shutdown_with_a_backlog_finishes_the_batch_in_hand_drops_and_counts_the_rest_and_records_nothing_after(
        service, tmp_path):
    scheduler, job = service
    before = recorder_threads()
    slow = SlowDisk(scheduler.recorder.queue)
    scheduler.recorder.queue = slow
    slow.may_finish = lambda: scheduler.writer.stopping  # the batch in hand ends only once shutdown began
    scheduler.writer.start()
    scheduler.writer.put(Fire(job, T0))
    assert slow.entered.wait(timeout=30)
    others = [dataclasses.replace(job, id=f"s{number:03d}") for number in range(300)]
    for second in range(1, 4):
        for schedule in others:
            scheduler.writer.put(Fire(schedule, T0 + second * SECOND))
    dropped = scheduler.shutdown()
    assert dropped == Counter({schedule.id: 3 for schedule in others})
    assert recorder_threads() <= before, "the recording thread has ended: nothing can be recorded after shutdown"
    assert requests(scheduler) == {"job@2026-01-07T09:00:00Z": ("queued", None)}
    [stopped] = audit_records(tmp_path, "scheduler.stopped")
    assert stopped["fires_dropped"] == 900 and stopped["dropped_by_schedule"]["s000"] == 3


def test_a_running_scheduler_stops_at_once_and_what_it_recorded_stays_one_row_per_fire_time(tmp_path):
    (tmp_path / "tiny.yaml").write_text("name: Tiny\nsteps:\n  - log: hello\n", encoding="utf-8")
    lines = [f"  - {{id: s{n:03d}, flow: tiny.yaml, trigger: {{interval: 1s}}}}" for n in range(200)]
    (tmp_path / "schedules.yaml").write_text("schedules:\n" + "\n".join(lines) + "\n", encoding="utf-8")
    queue = open_work_queue(tmp_path / "queue.db")
    audit = AuditLog.open(tmp_path / "service.jsonl", run_id="svc", flow="service", flow_sha256="0" * 64,
                          masker=SecretMasker())
    scheduler = Scheduler(FireRecorder(queue, audit))
    before = recorder_threads()
    scheduler.start(load_schedules(tmp_path / "schedules.yaml"))
    try:
        assert wait_until(lambda: len(queue.list_runs(limit=10_000)) >= 600)  # three rounds of 200 fires
    finally:
        scheduler.shutdown()
    recorded = queue.list_runs(limit=100_000)
    assert recorder_threads() <= before
    assert len({run.key for run in recorded}) == len(recorded)
    assert Counter(run.state for run in recorded)["queued"] == 200, "overlap skip: one run per schedule waits"
    audit.close()
    queue.close()

