"""Benchmark: work queue claim + complete throughput with 1 and with several worker processes.

Each round fills a fresh SQLite queue with the items, starts the worker processes (spawn), lets them
all begin at once, and times until every item is successful. Process start-up is not timed.

    python bench/queue_bench.py [--items 5000] [--workers 4] [--lease 30] [--synchronous FULL|NORMAL]

Prints items per second for 1 process and for `--workers` processes, and the ratio. SQLite has one
writer at a time, so the ratio shows how well the short transactions share that lock; it is not
expected to scale with the number of processes. With the default ``synchronous=FULL`` every commit
waits for the disk (fsync), which is most of the cost; ``NORMAL`` shows the queue's own overhead.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bastidor.queue import NewItem, SqliteWorkQueue, new_worker_name  # noqa: E402

QUEUE = "bench"


def work(path: str, lease_s: float, synchronous: str, start: multiprocessing.synchronize.Barrier) -> None:
    """Claim and complete items until none is left (runs in a worker process)."""
    queue = SqliteWorkQueue(path, synchronous=synchronous)
    worker = new_worker_name("bench")
    start.wait()
    while (item := queue.claim_item(QUEUE, worker, lease_s)) is not None:
        queue.complete_item(item.id, worker, {"done": True})
    queue.close()


def run_round(folder: Path, items: int, workers: int, lease_s: float, synchronous: str) -> float:
    """Items per second for `workers` processes on a fresh queue of `items` items."""
    path = folder / f"queue-{workers}.db"
    with SqliteWorkQueue(path) as queue:
        queue.add_items(QUEUE, [NewItem(f"ITEM-{n:06d}", {"n": n}) for n in range(items)])
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(workers + 1)
    processes = [context.Process(target=work, args=(str(path), lease_s, synchronous, start)) for _ in range(workers)]
    for process in processes:
        process.start()
    start.wait()
    began = time.perf_counter()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - began
    _check(path, items, processes)
    return items / elapsed


def _check(path: Path, items: int, processes: list) -> None:
    failed = [process.exitcode for process in processes if process.exitcode != 0]
    with SqliteWorkQueue(path) as queue:
        counts = queue.counts(QUEUE)
    if failed or counts["successful"] != items:
        raise SystemExit(f"Benchmark round went wrong: worker exit codes {failed}, counts {counts}.")


def main() -> None:
    """Run both rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="queue-bench-") as folder:
        single = run_round(Path(folder), args.items, 1, args.lease, args.synchronous)
        several = run_round(Path(folder), args.items, args.workers, args.lease, args.synchronous)
    print(f"items: {args.items}, SQLite synchronous={args.synchronous}")
    print(f"1 process:  {single:8.0f} items/s")
    print(f"{args.workers} processes: {several:8.0f} items/s")
    print(f"ratio {args.workers}/1: {several / single:.2f}")


if __name__ == "__main__":
    main()
