"""Fill a run store with a realistic history for the console benchmark: N runs over the last 90 days,
M items spread over them (about 8% business exceptions, 2% application errors), and a few steps per run.

    python bench/console_data.py HOME [--runs 10000] [--items 100000]

Rows go straight in with SQLAlchemy executemany (the executor's own path is far slower and is not what
is measured here). Prints how long the fill took.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bastidor.store import open_run_store  # noqa: E402
from bastidor.store.schema import items, runs, steps  # noqa: E402

FLOWS = ("Order entry", "Customer registration", "Invoice", "Supplier onboarding", "Refunds")
REASONS = ("Out of stock: Doohickey (available: 0)", "Customer is blocked", "Credit limit exceeded",
           "Missing VAT number")
CHUNK = 5000


def fill(home: Path, run_count: int, item_count: int, seed: int = 1) -> None:
    """Write `run_count` runs with `item_count` items (and 4 steps per run) into home/runs.db."""
    home.mkdir(parents=True, exist_ok=True)
    store = open_run_store(home / "runs.db")
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    per_run = max(1, item_count // run_count)
    run_rows, item_rows, step_rows = [], [], []
    for n in range(run_count):
        started = now - timedelta(minutes=rng.uniform(0, 90 * 24 * 60))
        flow = FLOWS[n % len(FLOWS)]
        run_id = f"{started:%Y%m%d-%H%M%S}-{n:06x}"
        made = [_item(rng, run_id, started, k) for k in range(per_run)]
        failed = sum(1 for row in made if row["status"] == "failed")
        run_rows.append(_run(run_id, flow, started, made, failed))
        item_rows.extend(made)
        step_rows.extend(_steps(run_id, started))
    with store.engine.begin() as connection:
        for table, rows in ((runs, run_rows), (items, item_rows), (steps, step_rows)):
            for start in range(0, len(rows), CHUNK):
                connection.execute(insert(table), rows[start:start + CHUNK])
    store.close()


def _run(run_id: str, flow: str, started: datetime, made: list[dict], failed: int) -> dict:
    ended = max(row["ended_at"] for row in made) + timedelta(seconds=1)
    return {"run_id": run_id, "flow_name": flow, "flow_path": f"flows/{flow.lower().replace(' ', '_')}.yaml",
            "flow_sha256": "0" * 64, "status": "failed" if failed else "succeeded", "started_at": started,
            "ended_at": ended, "inputs": {}, "audit_path": None, "report_path": None, "items_total": len(made),
            "items_succeeded": len(made) - failed, "items_failed": failed, "error": None, "host": "bench",
            "user": "bench", "audit_last_hash": None}


def _item(rng: random.Random, run_id: str, started: datetime, k: int) -> dict:
    begin = started + timedelta(seconds=k * 3)
    draw = rng.random()
    status, exception, reason = "successful", None, None
    if draw < 0.08:
        status, exception, reason = "failed", "business", rng.choice(REASONS)
    elif draw < 0.10:
        status, exception, reason = "failed", "application", "Timeout 10000ms exceeded waiting for Submit order"
    return {"run_id": run_id, "item_ref": f"ORD-{k:05d}", "status": status, "reason": reason, "attempts": 1,
            "started_at": begin, "ended_at": begin + timedelta(seconds=rng.uniform(0.5, 6)),
            "data": {"order_id": f"ORD-{k:05d}", "customer": f"Customer {k % 97}", "quantity": k % 9 + 1},
            "exception": exception}


def _steps(run_id: str, started: datetime) -> list[dict]:
    names = (("steps[0]", "call"), ("steps[1]", "read_excel"), ("steps[2]", "for_each"), ("steps[3]", "write_rows"))
    return [{"run_id": run_id, "seq": seq, "path": path, "parent_path": None, "name": None, "action": action,
             "target": None, "item_ref": None, "attempt": 1, "status": "passed", "started_at": started,
             "duration_ms": 40, "error": None, "screenshot": None, "screenshot_sha256": None,
             "line": f"flows/x.yaml:{seq + 1}"} for seq, (path, action) in enumerate(names, 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    started = time.perf_counter()
    fill(args.home, args.runs, args.items)
    print(f"{args.runs} runs and {args.items} items written to {args.home / 'runs.db'} "
          f"in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
