"""The unattended service as real processes: one active scheduler, kill -9 and restart, workers killed
mid-item, SIGTERM drain, and thousands of items over several workers. Real SQLite, no browser."""

from __future__ import annotations

import os
import signal
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bastidor.store import open_run_store
from service_support import (queue_of, serve, started, stop, stop_all, store_items, trigger, wait_until,
                             worker_pid, write_items, write_schedules)


def fire_keys(folder: Path) -> list[str]:
    with queue_of(folder) as queue:
        return [run.key for run in queue.list_runs(schedule_id="tick", limit=10_000)]


def test_two_schedulers_started_at_once_never_duplicate_a_fire(tmp_path):
    write_items(tmp_path, 0)
    write_schedules(tmp_path)
    first, second = serve(tmp_path, "--workers", "0"), serve(tmp_path, "--workers", "0")
    assert wait_until(lambda: started(first) and started(second), timeout=90)
    assert wait_until(lambda: len(fire_keys(tmp_path)) >= 4, timeout=60)
    outputs = stop_all([first, second])  # both at once: stopping one first would let the other take over
    keys = fire_keys(tmp_path)
    assert len(keys) == len(set(keys))
    assert sum("scheduler active" in out for out in outputs) == 1
    assert sum("stands by" in out for out in outputs) == 1, outputs


def test_standby_scheduler_takes_over_when_the_active_one_is_killed(tmp_path):
    write_items(tmp_path, 0)
    write_schedules(tmp_path)
    first = serve(tmp_path, "--workers", "0")
    assert wait_until(lambda: len(fire_keys(tmp_path)) >= 2)
    second = serve(tmp_path, "--workers", "0")
    assert wait_until(lambda: started(second), timeout=90)
    first.kill()
    first.wait()
    before = len(fire_keys(tmp_path))
    assert wait_until(lambda: len(fire_keys(tmp_path)) >= before + 3, timeout=60)
    assert "scheduler active" in stop(second)
    keys = fire_keys(tmp_path)
    assert len(keys) == len(set(keys))


def test_scheduler_killed_and_restarted_makes_exactly_one_run_per_fire_time(tmp_path):
    write_items(tmp_path, 0)
    write_schedules(tmp_path, every="2s", grace="1m")
    first = serve(tmp_path, "--workers", "0")
    assert wait_until(lambda: len(fire_keys(tmp_path)) >= 2)
    first.kill()
    first.wait()
    down_at = len(fire_keys(tmp_path))
    with queue_of(tmp_path) as queue:
        last_fire = queue.last_fire_time("tick")
    two_fires_later = last_fire + timedelta(seconds=4, milliseconds=500)
    assert wait_until(lambda: datetime.now(timezone.utc) > two_fires_later, timeout=30)  # missed with no scheduler
    second = serve(tmp_path, "--workers", "0")
    assert wait_until(lambda: len(fire_keys(tmp_path)) >= down_at + 3)
    stop(second)
    with queue_of(tmp_path) as queue:
        runs = queue.list_runs(schedule_id="tick", limit=10_000)
    times = [run.fire_time for run in runs]
    assert len(times) == len(set(times)), "one run request per fire time"
    coalesced = [run for run in runs if run.state == "skipped" and "coalesced" in (run.error or "")]
    assert coalesced, "fires missed while down (within the grace) are coalesced into one run"


def test_worker_killed_mid_item_leaves_the_item_to_be_retried_once(tmp_path):
    write_items(tmp_path, 3, wait="3s")
    write_schedules(tmp_path, enabled=False)
    service = serve(tmp_path, "--workers", "1", "--lease", "2")
    assert wait_until(lambda: started(service), timeout=90)
    trigger(tmp_path)

    def in_progress():
        with queue_of(tmp_path) as queue:
            return queue.items("Slow items", state="in_progress")

    assert wait_until(lambda: bool(in_progress()), timeout=60)
    victim = in_progress()[0]
    os.kill(worker_pid(victim.lease_owner), signal.SIGKILL)
    with queue_of(tmp_path) as queue:
        assert wait_until(lambda: queue.counts("Slow items").get("successful", 0) == 3, timeout=90)
    stop(service)
    with queue_of(tmp_path) as queue:
        history = queue.history(victim.id)
        final = queue.get_item(victim.id)
    assert final.state == "successful"
    assert any(event.to_state == "abandoned" and event.attempt == 1 for event in history)
    assert [event.to_state for event in history].count("successful") == 1
    with open_run_store(tmp_path / "home" / "runs.db") as store:
        runs = store.list_runs(limit=10)
    assert "running" not in {run.status for run in runs}, "the killed bot's run does not stay running forever"
    orphaned = [run for run in runs if run.status == "crashed"]
    assert len(orphaned) == 1 and "its bot stopped" in orphaned[0].error
    assert [item.status for item in store_items(tmp_path, orphaned[0].run_id)] == ["failed"]


def test_sigterm_lets_the_item_in_hand_finish_and_leaves_the_rest_queued(tmp_path):
    write_items(tmp_path, 6, wait="2s")
    write_schedules(tmp_path, enabled=False)
    service = serve(tmp_path, "--workers", "1", "--drain-timeout", "30")
    assert wait_until(lambda: started(service), timeout=90)
    trigger(tmp_path)
    with queue_of(tmp_path) as queue:
        assert wait_until(lambda: queue.items("Slow items", state="in_progress"), timeout=60)
    text = stop(service, timeout=90)
    assert service.returncode == 0, text
    with queue_of(tmp_path) as queue:
        counts = queue.counts("Slow items")
    assert counts.get("in_progress", 0) == 0
    assert counts.get("successful", 0) >= 1 and counts.get("new", 0) >= 1
    assert counts.get("successful", 0) + counts.get("new", 0) == 6


def test_two_thousand_items_over_four_workers_each_end_in_one_final_state(tmp_path):
    write_items(tmp_path, 2000)
    write_schedules(tmp_path, enabled=False)
    service = serve(tmp_path, "--workers", "4")
    assert wait_until(lambda: started(service), timeout=90)
    for _ in range(4):
        trigger(tmp_path)
    with queue_of(tmp_path) as queue:
        assert wait_until(lambda: queue.counts("Slow items").get("successful", 0) == 2000, timeout=400,
                          every=1.0)
        items = queue.items("Slow items")
        owners = Counter(event.worker for item in items[:200] for event in queue.history(item.id)
                         if event.to_state == "successful")
    stop(service)
    assert len(items) == 2000 and {item.state for item in items} == {"successful"}
    assert len({item.reference for item in items}) == 2000
    assert len(owners) >= 2, "the work was shared by several workers"


def test_drain_timeout_puts_the_unfinished_item_back_in_the_queue(tmp_path):
    write_items(tmp_path, 2, wait="20s")
    write_schedules(tmp_path, enabled=False)
    service = serve(tmp_path, "--workers", "1", "--drain-timeout", "1")
    assert wait_until(lambda: started(service), timeout=90)
    trigger(tmp_path)
    with queue_of(tmp_path) as queue:
        assert wait_until(lambda: queue.items("Slow items", state="in_progress"), timeout=60)
    stop(service, timeout=90)
    with queue_of(tmp_path) as queue:
        items = queue.items("Slow items")
        history = queue.history(items[0].id)
    assert {item.state for item in items} == {"new"}, "nothing is lost or left in progress"
    assert any(event.to_state == "abandoned" for event in history)
