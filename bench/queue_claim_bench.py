"""Benchmark: work-item claim latency with many concurrent claimers, on PostgreSQL and on SQLite.

Each round fills a fresh queue (a throwaway PostgreSQL database, or a SQLite file in a temporary folder)
with `--items` items, starts `--claimers` worker processes (spawn) that all begin at once, and has each
claim and complete items until none is left, timing every `claim_item` call (reaping, picking the row,
leasing it and committing: what a bot waits for). Process start-up is not timed.

    python bench/queue_claim_bench.py [--claimers 12] [--items 2400] [--backends postgres,sqlite]

Prints p50, p99 and max claim latency per backend, the items per second, and PostgreSQL's figures as a
ratio of SQLite's. Needs PostgreSQL at 127.0.0.1:5432 with trust authentication (or
$BASTIDOR_TEST_POSTGRES as an admin URL) for the PostgreSQL round.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from bastidor.queue import NewItem, new_worker_name, open_work_queue  # noqa: E402

QUEUE = "bench"


def claimer(location: str, start, results) -> None:
    """Claim and complete until the queue is empty, timing each claim (runs in a worker process)."""
    worker = new_worker_name("bench")
    latencies = []
    with open_work_queue(location) as queue:
        start.wait()
        while True:
            began = time.perf_counter()
            item = queue.claim_item(QUEUE, worker, 60)
            latencies.append(time.perf_counter() - began)
            if item is None:
                break
            queue.complete_item(item.id, worker, {"done": True})
    results.put(latencies)


def run_round(location: str, items: int, claimers: int) -> dict[str, float]:
    """Claim latencies (seconds) and throughput of `claimers` processes on a fresh queue at `location`."""
    with open_work_queue(location) as queue:
        queue.add_items(QUEUE, [NewItem(f"ITEM-{n:06d}", {"n": n}) for n in range(items)])
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(claimers + 1), context.Queue()
    processes = [context.Process(target=claimer, args=(location, start, results)) for _ in range(claimers)]
    for process in processes:
        process.start()
    start.wait()
    began = time.perf_counter()
    latencies = sorted(value for _ in processes for value in results.get())
    elapsed = time.perf_counter() - began
    for process in processes:
        process.join()
    _check(location, items, processes)
    return {"p50": statistics.median(latencies), "p99": latencies[int(len(latencies) * 0.99)],
            "max": latencies[-1], "claims": len(latencies), "items_per_s": items / elapsed}


def _check(location: str, items: int, processes: list) -> None:
    failed = [process.exitcode for process in processes if process.exitcode != 0]
    with open_work_queue(location) as queue:
        counts = queue.counts(QUEUE)
    if failed or counts["successful"] != items:
        raise SystemExit(f"Benchmark round went wrong: worker exit codes {failed}, counts {counts}.")


def measure(backend: str, items: int, claimers: int) -> dict[str, float]:
    """One round on `backend` (``postgres`` or ``sqlite``), in a database made for it and removed after."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="claim-bench-") as folder:
            return run_round(str(Path(folder) / "queue.db"), items, claimers)
    from pg_support import create_database, drop_database, postgres_problem

    if postgres_problem():
        raise SystemExit(postgres_problem())
    url = create_database()
    try:
        return run_round(url, items, claimers)
    finally:
        drop_database(url)


def main() -> None:
    """Run each backend's round and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claimers", type=int, default=12)
    parser.add_argument("--items", type=int, default=2400)
    parser.add_argument("--backends", default="postgres,sqlite")
    args = parser.parse_args()
    figures = {backend: measure(backend, args.items, args.claimers) for backend in args.backends.split(",")}
    print(f"{args.claimers} claimers, {args.items} items (claim + complete each), claim latency:")
    for backend, found in figures.items():
        print(f"  {backend:8} p50 {found['p50'] * 1000:7.2f} ms   p99 {found['p99'] * 1000:7.2f} ms   "
              f"max {found['max'] * 1000:7.1f} ms   {found['items_per_s']:6.0f} items/s")
    if {"postgres", "sqlite"} <= figures.keys():
        pg, lite = figures["postgres"], figures["sqlite"]
        print(f"  postgres/sqlite: p50 {pg['p50'] / lite['p50']:.2f}x, p99 {pg['p99'] / lite['p99']:.2f}x, "
              f"throughput {pg['items_per_s'] / lite['items_per_s']:.2f}x")


if __name__ == "__main__":
    main()
