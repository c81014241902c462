"""Benchmark: items per minute with 1, 2 and 3 services on one PostgreSQL database, against the demo portal.

Each service is a separate `runner.py serve` process with a home folder of its own (as on separate machines)
and `--database` pointing at one throwaway PostgreSQL database; each runs `--bots-per-service` bots (default 1).
The order-entry flow is queued once per bot; all bots share one item queue, so each order is entered once.
For comparison, the same number of bots in ONE service on the embedded SQLite queue is measured too.
Throughput comes from the queue's own history (see bots_scaling_bench.steady_rate: start-up and sign-in
excluded). The portal's delay switch adds 0..`--site-delay` ms to each request, as a web application on
another host would; on a 2-core machine with no delay the bots are bound by this machine's CPU instead.

    python bench/scale_out_bench.py [--orders 60] [--site-delay 400] [--services 1,2,3]

Needs PostgreSQL (127.0.0.1:5432 with trust authentication, or $BASTIDOR_TEST_POSTGRES as an admin URL).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))

from bots_scaling_bench import steady_rate  # noqa: E402
from order_entry_bench import make_orders  # noqa: E402
from pg_support import create_database, drop_database, postgres_problem  # noqa: E402

from bastidor.demo_portal import PortalSettings, start_portal  # noqa: E402
from bastidor.queue import open_work_queue  # noqa: E402

PASSWORD = "bench-password-3"
FLOW = REPO / "flows" / "order_entry.yaml"


def start_service(folder: Path, bots: int, portal_url: str, database: str | None) -> subprocess.Popen:
    """One `serve` process with its own home folder (and the shared database when `database` is given)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "schedules.yaml").write_text("schedules: []\n")
    env = dict(os.environ, BASTIDOR_SECRET_PORTAL_USER="analyst", BASTIDOR_SECRET_PORTAL_PASSWORD=PASSWORD)
    shared = ["--database", database] if database else []
    return subprocess.Popen([sys.executable, str(REPO / "runner.py"), "--home", str(folder / "home"), *shared,
                             "serve", "--schedules", str(folder / "schedules.yaml"), "--workers", str(bots),
                             "--base-url", portal_url], env=env, stdout=(folder / "serve.log").open("w"),
                            stderr=subprocess.STDOUT)


def measure(work: Path, services: int, bots: int, orders: Path, count: int, portal_url: str,
            database: str | None) -> float:
    """Items per minute of `services` services with `bots` bots each (SQLite: one service, one home)."""
    processes = [start_service(work / f"service-{n}", bots, portal_url, database) for n in range(services)]
    queue = open_work_queue(database or work / "service-0" / "home" / "queue.db")
    try:
        for n in range(services * bots):
            queue.enqueue_run(f"bench:{n}", str(FLOW), {"orders_file": str(orders)}, requested_by="bench")
        deadline = time.monotonic() + 1800
        while queue.counts("Order entry").get("successful", 0) < count:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise SystemExit(f"the run did not finish: {queue.counts('Order entry')} (logs in {work})")
            time.sleep(0.5)
        events = [e for item in queue.items("Order entry") for e in queue.history(item.id)]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=180)
        queue.close()
    return steady_rate(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--site-delay", type=int, default=400, help="the portal's maximum request delay, ms")
    parser.add_argument("--services", default="1,2,3", help="comma-separated service counts (default 1,2,3)")
    parser.add_argument("--bots-per-service", type=int, default=1)
    args = parser.parse_args()
    if postgres_problem():
        raise SystemExit(postgres_problem())
    work = Path(tempfile.mkdtemp(prefix="bastidor-scale-out-"))
    make_orders(work / "orders.xlsx", args.orders)
    print(f"{args.orders} orders, portal answering in 0..{args.site_delay} ms, {args.bots_per_service} bot(s) "
          f"per service; machine: {os.cpu_count()} cores")
    with start_portal(PortalSettings(password=PASSWORD, db_path=work / "portal.db", seed=1)) as portal:
        for services in (int(v) for v in args.services.split(",")):
            for backend in ("postgres", "sqlite"):
                httpx.post(portal.url + "/api/reset").raise_for_status()
                httpx.post(portal.url + "/api/chaos", json={"delay_ms_max": args.site_delay,
                                                            "seed": 1}).raise_for_status()
                database = create_database() if backend == "postgres" else None
                try:
                    folder = work / f"{backend}-{services}"
                    bots = services * args.bots_per_service
                    if backend == "sqlite":  # one machine: the same bots in one service on the home's SQLite
                        rate = measure(folder, 1, bots, work / "orders.xlsx", args.orders, portal.url, None)
                        label = f"1 service x {bots} bot(s), SQLite"
                    else:
                        rate = measure(folder, services, args.bots_per_service, work / "orders.xlsx",
                                       args.orders, portal.url, database)
                        label = f"{services} service(s) x {args.bots_per_service} bot(s), PostgreSQL"
                finally:
                    if database:
                        drop_database(database)
                print(f"  {label}: {rate:.1f} items/minute", flush=True)


if __name__ == "__main__":
    main()
