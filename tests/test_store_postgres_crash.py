"""Bots killed with kill -9 while they write to the run store on PostgreSQL leave nothing half-written and
nothing locked: each batch of steps is there whole or not at all, and the runs they left running are
ended by another process at once (no lock of the dead bot is in the way)."""

from __future__ import annotations

import random
import subprocess
import sys
import time

from bastidor.store import open_run_store
from service_support import wait_until

BATCH = 5
WRITER = """
import sys
from bastidor.store import open_run_store, RunRecord, ItemRecord, StepRecord
url, name = sys.argv[1], sys.argv[2]
store = open_run_store(url)
store.create_run(RunRecord(run_id=name, flow_name="crash", flow_path="crash.yaml", flow_sha256="0" * 64))
for batch in range(10_000):
    store.add_steps([StepRecord(run_id=name, seq=batch * 5 + n, path=f"steps[{n}]", status="passed",
                                item_ref=f"i-{batch}") for n in range(5)])
    store.upsert_item(ItemRecord(run_id=name, item_ref=f"i-{batch}", status="successful"))
    store.update_run(name, items_total=batch + 1)
"""


def step_count(url: str, run_id: str) -> int:
    with open_run_store(url) as store:
        return len(store.list_steps(run_id))


def test_writers_killed_mid_commit_leave_whole_batches_and_no_lock_behind(pg_url):
    rng = random.Random(11)
    killed = []
    for number in range(4):
        name = f"bot-killed-{number}"
        writer = subprocess.Popen([sys.executable, "-c", WRITER, pg_url, name])
        assert wait_until(lambda: step_count(pg_url, name) >= 3 * BATCH, timeout=60), "the bot is writing"
        time.sleep(rng.uniform(0.0, 0.2))  # a random moment in its stream of commits
        writer.kill()
        writer.wait()
        killed.append(name)
    with open_run_store(pg_url) as store:
        for run_id in killed:
            steps, items = store.list_steps(run_id), store.list_items(run_id)
            assert len(steps) % BATCH == 0 and [step.seq for step in steps] == list(range(len(steps)))
            assert len(items) in (len(steps) // BATCH, len(steps) // BATCH - 1)
            assert store.close_orphaned_run(run_id, "killed in the test")
        assert {run.status for run in store.list_runs()} == {"crashed"}
