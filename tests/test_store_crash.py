"""Store outages and crashes mid-commit (reliability test 4): processes killed with kill -9 while they
write to the work queue and the run store leave both databases intact, with nothing lost and nothing
stuck; a database locked by another process makes the bots wait, not fail.

SQLite only: these are faults of a database file (a torn write, SQLite's file lock). On PostgreSQL the
server owns the files; its lost connections and unanswered commits are tested in
tests/test_store_postgres_reconnect.py, and kill -9 of writers in tests/test_store_postgres_crash.py."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bastidor.queue import NewItem, open_work_queue
from bastidor.store import open_run_store
from service_support import wait_until

QUEUE = "crash"

WORKER = """
import sys, time
from bastidor.queue import open_work_queue
from bastidor.store import open_run_store, RunRecord, ItemRecord, StepRecord
home, name = sys.argv[1], sys.argv[2]
queue, store = open_work_queue(home + "/queue.db"), open_run_store(home + "/runs.db")
store.create_run(RunRecord(run_id=name, flow_name="crash", flow_path="crash.yaml", flow_sha256="0" * 64))
seq = 0
while True:
    item = queue.claim_item("crash", name, 1.0)
    if item is None:
        if queue.counts("crash")["in_progress"] == 0:
            break
        time.sleep(0.2)
        continue
    seq += 1
    store.add_steps([StepRecord(run_id=name, seq=seq, path="steps[0]", status="passed", item_ref=item.reference)])
    store.upsert_item(ItemRecord(run_id=name, item_ref=item.reference, status="successful"))
    queue.complete_item(item.id, name)
store.update_run(name, status="succeeded")
"""


LOCKER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(3)
connection.execute("COMMIT")
"""


def start_worker(home: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER, str(home), name])


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


def add_items(home: Path, count: int) -> None:
    with open_work_queue(home / "queue.db") as queue:
        queue.add_items(QUEUE, [NewItem(f"C{n:04d}", {"n": n}) for n in range(count)])


def assert_each_item_succeeded_once(home: Path, count: int) -> None:
    with open_work_queue(home / "queue.db") as queue:
        items = queue.items(QUEUE)
        assert len(items) == count and {item.state for item in items} == {"successful"}
        for item in items:
            assert [event.to_state for event in queue.history(item.id)].count("successful") == 1


def successful(home: Path) -> int:
    with open_work_queue(home / "queue.db") as queue:
        return queue.counts(QUEUE)["successful"]


def test_processes_killed_mid_commit_leave_both_databases_intact_with_nothing_lost_or_stuck(tmp_path):
    add_items(tmp_path, 1500)
    rng = random.Random(4)
    for kill in range(8):
        done = successful(tmp_path)
        worker = start_worker(tmp_path, f"bot-killed-{kill}")
        assert wait_until(lambda: successful(tmp_path) > done, timeout=120), "the bot is committing items"
        time.sleep(rng.uniform(0.0, 0.3))  # a random moment in its stream of commits
        worker.kill()
        worker.wait()
    last = start_worker(tmp_path, "bot-last")
    assert last.wait(timeout=300) == 0
    assert integrity(tmp_path / "queue.db") == "ok" and integrity(tmp_path / "runs.db") == "ok"
    assert_each_item_succeeded_once(tmp_path, 1500)
    with open_run_store(tmp_path / "runs.db") as store:
        stuck = [run.run_id for run in store.list_runs(limit=100) if run.status == "running"]
        assert stuck, "the kills hit runs in progress"
        assert all(store.close_orphaned_run(run_id, "killed in the test") for run_id in stuck)
        assert not store.close_orphaned_run("bot-last", "a finished run is never ended again")
        assert {run.status for run in store.list_runs(limit=100)} == {"crashed", "succeeded"}


def test_a_database_locked_by_another_process_makes_bots_wait_and_lose_nothing(tmp_path):
    add_items(tmp_path, 100)
    blocker = subprocess.Popen([sys.executable, "-c", LOCKER, str(tmp_path / "queue.db")], stdout=subprocess.PIPE,
                               text=True)
    assert blocker.stdout.readline().strip() == "locked"
    worker = start_worker(tmp_path, "bot-waiting")
    assert worker.wait(timeout=120) == 0, "the bot waited for the lock instead of failing"
    assert blocker.wait(timeout=30) == 0
    assert_each_item_succeeded_once(tmp_path, 100)
    assert integrity(tmp_path / "queue.db") == "ok"
