"""The work queue across real processes (multiprocessing 'spawn') on a real SQLite file: nothing is
lost, nothing is done twice, and a killed worker's item is picked up again after its lease (that test runs
on PostgreSQL too; the PostgreSQL load tests are in test_queue_postgres_processes.py). The fork test is
SQLite-only: it is about SQLite connections, which must never cross a fork.

The worker functions below run in the child processes; each writes what it did to a JSON file.
Timeouts only stop a hung test; nothing here asserts on speed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bastidor.queue import NewItem, SqliteWorkQueue, open_work_queue
from queue_backends import queue_database, queue_location  # noqa: F401  (fixtures: SQLite and PostgreSQL)

SPAWN = multiprocessing.get_context("spawn")
Q = "orders"
JOIN_TIMEOUT_S = 120


def _load_worker(db: str, worker: str, report: str) -> None:
    """Claim until the queue is empty; fail some items once (application) and some for good (business)."""
    outcomes = []
    with SqliteWorkQueue(db) as queue:
        while (item := queue.claim_item(Q, worker, 30)) is not None:
            number = item.data["n"]
            if number % 50 == 13:
                queue.fail_item(item.id, worker, "customer blocked", business=True)
                outcomes.append([item.id, "failed"])
            elif number % 10 == 7 and item.attempts == 1:
                queue.fail_item(item.id, worker, "portal hiccup", business=False, retry_in_s=0)
                outcomes.append([item.id, "retry"])
            else:
                queue.complete_item(item.id, worker, {"by": worker})
                outcomes.append([item.id, "successful"])
    Path(report).write_text(json.dumps(outcomes))


def _adder(db: str, references: list[str], start, report: str) -> None:
    """Open the (maybe not yet created) queue and add the same references as every other adder, at once."""
    start.wait()
    with SqliteWorkQueue(db) as queue:
        result = queue.add_items(Q, [NewItem(ref, {"ref": ref}) for ref in references])
    Path(report).write_text(json.dumps(result.added))


def _scheduler_and_bot(db: str, keys: list[str], start, report: str) -> None:
    """Open the (maybe not yet created) queue, enqueue the same run keys as every other process at once,
    then claim and finish run requests until none is queued."""
    start.wait()
    worker = f"bot-{os.getpid()}"
    with SqliteWorkQueue(db) as queue:
        accepted = [key for key in keys if queue.enqueue_run(key, "flows/demo.yaml", {}, requested_by="scheduler")]
        finished = []
        while (request := queue.claim_run(worker, 30)) is not None:
            queue.finish_run(request.id, worker, "done", run_id=f"run-{request.id}")
            finished.append(request.id)
    Path(report).write_text(json.dumps({"accepted": accepted, "finished": finished}))


def _claim_and_hang(db: str, worker: str, claimed) -> None:
    """Claim one item with a 1 s lease, say so, then hang until killed."""
    queue = open_work_queue(db)
    queue.claim_item(Q, worker, 1.0)
    claimed.set()
    time.sleep(600)


def _claim_when_free(db: str, worker: str, report: str) -> None:
    """Poll until an item can be claimed (its old lease has expired), then complete it."""
    with open_work_queue(db) as queue:
        give_up = time.monotonic() + 60
        while (item := queue.claim_item(Q, worker, 30)) is None and time.monotonic() < give_up:
            time.sleep(0.1)
        if item is not None:
            queue.complete_item(item.id, worker)
    Path(report).write_text(json.dumps(None if item is None else item.id))


def _drain_inherited(queue: SqliteWorkQueue) -> None:
    """Use a queue object opened by the parent before the fork: complete every new item, on connections
    this process opened itself (SQLite connections must never cross a fork)."""
    while (item := queue.claim_item(Q, "forked-child", 30)) is not None:
        queue.complete_item(item.id, "forked-child")
    with queue.database.reading() as connection:
        assert connection.info["pid"] == os.getpid()


def run_all(processes: list) -> None:
    """Start the processes, wait for each, and fail clearly if one hung or crashed."""
    for process in processes:
        process.start()
    for process in processes:
        process.join(JOIN_TIMEOUT_S)
        if process.is_alive():
            process.kill()
            pytest.fail(f"a worker process hung for {JOIN_TIMEOUT_S} s")
    assert [process.exitcode for process in processes] == [0] * len(processes)


def reports(tmp_path: Path, prefix: str, count: int) -> list:
    return [json.loads((tmp_path / f"{prefix}-{n}.json").read_text()) for n in range(count)]


def test_four_workers_process_two_thousand_items_each_exactly_once(tmp_path):
    db = tmp_path / "queue.db"
    with SqliteWorkQueue(db) as queue:
        queue.add_items(Q, [NewItem(f"ORD-{n:05d}", {"n": n}) for n in range(2000)])
    run_all([SPAWN.Process(target=_load_worker, args=(str(db), f"worker-{n}", str(tmp_path / f"load-{n}.json")))
             for n in range(4)])
    final = Counter()
    for outcomes in reports(tmp_path, "load", 4):
        final.update(item_id for item_id, outcome in outcomes if outcome != "retry")
    with SqliteWorkQueue(db) as queue:
        items = queue.items(Q)
        assert queue.counts(Q) == {"new": 0, "in_progress": 0, "successful": 1960, "failed": 40}
        histories = {item.id: queue.history(item.id) for item in items}
    assert len(final) == 2000 and set(final.values()) == {1}
    for item in items:
        ends = [e.to_state for e in histories[item.id] if e.to_state in ("successful", "failed")]
        assert ends == [item.state], f"{item.reference} ended {ends}"
        claims = sum(e.to_state == "in_progress" for e in histories[item.id])
        assert claims == item.attempts == (2 if item.data["n"] % 10 == 7 and item.state == "successful" else 1)


def test_a_reference_added_by_eight_processes_at_once_is_accepted_once(tmp_path):
    db = tmp_path / "queue.db"
    references = [f"ORD-{n}" for n in range(100)]
    start = SPAWN.Barrier(8)
    run_all([SPAWN.Process(target=_adder, args=(str(db), references[n:] + references[:n], start,
                                                str(tmp_path / f"add-{n}.json"))) for n in range(8)])
    accepted = Counter(ref for added in reports(tmp_path, "add", 8) for ref in added)
    assert accepted == Counter(references)
    with SqliteWorkQueue(db) as queue:
        items = queue.items(Q)
        assert sorted(item.reference for item in items) == sorted(references)
        assert all(len(queue.history(item.id)) == 1 for item in items)


def test_a_run_key_enqueued_by_several_processes_at_once_runs_once(tmp_path):
    db = tmp_path / "queue.db"
    base = datetime(2026, 11, 27, 10, 5, tzinfo=timezone.utc)
    keys = [f"demo-order-entry@{(base + timedelta(minutes=5 * n)).isoformat()}" for n in range(20)]
    start = SPAWN.Barrier(6)
    run_all([SPAWN.Process(target=_scheduler_and_bot, args=(str(db), keys, start, str(tmp_path / f"run-{n}.json")))
             for n in range(6)])
    done = reports(tmp_path, "run", 6)
    assert Counter(key for report in done for key in report["accepted"]) == Counter(keys)
    with SqliteWorkQueue(db) as queue:
        requests = queue.list_runs(limit=100)
    assert sorted(r.key for r in requests) == sorted(keys)
    finished = Counter(request_id for report in done for request_id in report["finished"])
    assert finished == Counter(r.id for r in requests)
    assert {(r.state, r.attempts, r.run_id) for r in requests} == {("done", 1, f"run-{r.id}") for r in requests}


def test_item_of_a_killed_worker_is_claimed_again_after_its_lease_and_ends_once(tmp_path, queue_location):
    db = queue_location
    with open_work_queue(db) as queue:
        queue.add_items(Q, [NewItem("ORD-1", {"qty": 1})])
    claimed = SPAWN.Event()
    doomed = SPAWN.Process(target=_claim_and_hang, args=(str(db), "worker-A", claimed))
    doomed.start()
    try:
        assert claimed.wait(JOIN_TIMEOUT_S), "the first worker never claimed the item"
    finally:
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.join(JOIN_TIMEOUT_S)
    assert doomed.exitcode == -signal.SIGKILL
    run_all([SPAWN.Process(target=_claim_when_free, args=(str(db), "worker-B", str(tmp_path / "b-0.json")))])
    with open_work_queue(db) as queue:
        [item] = queue.items(Q)
        history = [(e.from_state, e.to_state, e.attempt, e.worker) for e in queue.history(item.id)]
    assert reports(tmp_path, "b", 1) == [item.id]
    assert (item.state, item.attempts, item.lease_owner) == ("successful", 2, None)
    assert history == [(None, "new", 0, None), ("new", "in_progress", 1, "worker-A"),
                       ("in_progress", "abandoned", 1, "worker-A"), ("abandoned", "new", 1, None),
                       ("new", "in_progress", 2, "worker-B"), ("in_progress", "successful", 2, "worker-B")]


def test_a_queue_opened_before_a_fork_opens_its_own_connections_in_the_child(tmp_path):
    """SQLite only: SQLite connections must never cross a fork."""
    with SqliteWorkQueue(tmp_path / "queue.db") as queue:
        queue.add_items(Q, [NewItem(f"ORD-{n}") for n in range(20)])
        mine = queue.claim_item(Q, "parent", 30)
        run_all([multiprocessing.get_context("fork").Process(target=_drain_inherited, args=(queue,))])
        queue.complete_item(mine.id, "parent")
        assert queue.counts(Q)["successful"] == 20
        assert {e.worker for item in queue.items(Q) for e in queue.history(item.id)} == {None, "parent",
                                                                                         "forked-child"}
