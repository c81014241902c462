"""Benchmark: items per minute with 1 bot versus 2 bots, on the demo portal, through the real service.

For each pool size the service (`runner.py serve`) starts with that many bot workers and the
order-entry flow is queued once per bot. All bots share one item queue, so each order is entered
once. Throughput is measured from the work queue's own history: items completed divided by the
time from the first item claimed to the last item completed (start-up and sign-in excluded).

    python bench/bots_scaling_bench.py [--orders 40]

Prints items per minute for each pool size and the scaling ratio (target: at least 1.7 on 2 cores).
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

from order_entry_bench import make_orders  # noqa: E402

from bastidor.demo_portal import PortalSettings, start_portal  # noqa: E402
from bastidor.queue import open_work_queue  # noqa: E402

PASSWORD = "bench-password-2"


def run_pool(work: Path, bots: int, orders: Path, count: int, portal_url: str) -> float:
    """Seconds to enter `count` orders with `bots` workers."""
    home = work / f"home-{bots}"
    (work / "schedules.yaml").write_text("schedules: []\n")
    env = dict(os.environ, BASTIDOR_SECRET_PORTAL_USER="analyst", BASTIDOR_SECRET_PORTAL_PASSWORD=PASSWORD)
    log = (work / f"serve-{bots}.log").open("w")
    service = subprocess.Popen([sys.executable, str(REPO / "runner.py"), "--home", str(home), "serve",
                                "--schedules", str(work / "schedules.yaml"), "--workers", str(bots),
                                "--base-url", portal_url], env=env, stdout=log, stderr=subprocess.STDOUT)
    queue = open_work_queue(home / "queue.db")
    for n in range(bots):
        queue.enqueue_run(f"bench:{bots}:{n}", str(REPO / "flows" / "order_entry.yaml"),
                          {"orders_file": str(orders)}, requested_by="bench")
    while queue.counts("Order entry").get("successful", 0) < count:
        time.sleep(0.2)
    service.send_signal(signal.SIGTERM)
    service.wait(timeout=120)
    events = [e for item in queue.items("Order entry") for e in queue.history(item.id)]
    first = min(e.at for e in events if e.to_state == "in_progress")
    last = max(e.at for e in events if e.to_state == "successful")
    return (last - first).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=40)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bastidor-scaling-"))
    make_orders(work / "orders.xlsx", args.orders)
    rates = {}
    with start_portal(PortalSettings(password=PASSWORD, db_path=work / "portal.db", seed=1)) as portal:
        for bots in (1, 2):
            httpx.post(portal.url + "/api/reset").raise_for_status()
            seconds = run_pool(work, bots, work / "orders.xlsx", args.orders, portal.url)
            rates[bots] = args.orders / seconds * 60
            print(f"{bots} bot(s): {args.orders} orders in {seconds:.1f} s of processing "
                  f"= {rates[bots]:.1f} items/minute")
    print(f"scaling 2 bots / 1 bot: {rates[2] / rates[1]:.2f}x  (target >= 1.7)")


if __name__ == "__main__":
    main()
