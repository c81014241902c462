"""Benchmark: items per minute with 1 bot versus 2 bots, on the demo portal, through the real service.

For each pool size the service (`runner.py serve`) starts with that many bot workers and the
order-entry flow is queued once per bot. All bots share one item queue, so each order is entered
once. Throughput is measured from the work queue's own history: items completed divided by the
time from the first item claimed to the last item completed (start-up and sign-in excluded).

    python bench/bots_scaling_bench.py [--orders 40] [--site-delays 0,400]

Each pool size is measured twice by default: against the portal answering at once (the bots are then
bound by this machine's CPU, since one bot's Chromium, Playwright driver and Python already keep more
than one core busy), and with the portal's own delay switch adding 0..400 ms to every request, as a
web application on another host would. Prints items per minute, the CPU seconds each order cost the
bot's whole process tree (the service, Playwright's driver and Chromium, measured with getrusage over the
service's life, so its start and sign-in are included), the portal's own CPU per order (this process), the machine's CPU use while the items were
processed, and the scaling ratio (target: at least 1.7 on 2 cores). The CPU per order is sampled from /proc
(see process_cpu.py) and split by kind of process: where a bot's CPU goes.
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
from process_cpu import TreeCpu  # noqa: E402

from bastidor.demo_portal import PortalSettings, start_portal  # noqa: E402
from bastidor.queue import open_work_queue  # noqa: E402

PASSWORD = "bench-password-2"


def run_pool(work: Path, bots: int, orders: Path, count: int, portal_url: str) -> tuple[float, dict[str, float]]:
    """Items per minute with `bots` workers entering `count` orders while all of them were working, and the
    CPU seconds per order of the service's process tree over its whole life, by kind of process."""
    home = work / f"home-{bots}"
    (work / "schedules.yaml").write_text("schedules: []\n")
    env = dict(os.environ, BASTIDOR_SECRET_PORTAL_USER="analyst", BASTIDOR_SECRET_PORTAL_PASSWORD=PASSWORD)
    log = (work / f"serve-{bots}.log").open("w")
    service = subprocess.Popen([sys.executable, str(REPO / "runner.py"), "--home", str(home), "serve",
                                "--schedules", str(work / "schedules.yaml"), "--workers", str(bots),
                                "--base-url", portal_url], env=env, stdout=log, stderr=subprocess.STDOUT)
    sampler = TreeCpu(service.pid).start()
    queue = open_work_queue(home / "queue.db")
    for n in range(bots):
        queue.enqueue_run(f"bench:{bots}:{n}", str(REPO / "flows" / "order_entry.yaml"),
                          {"orders_file": str(orders)}, requested_by="bench")
    while queue.counts("Order entry").get("successful", 0) < count:
        time.sleep(0.2)
    service.send_signal(signal.SIGTERM)
    cpu = sampler.stop()
    service.wait(timeout=120)
    cpu_per_order = {kind: seconds / count for kind, seconds in cpu.items()}
    events = [e for item in queue.items("Order entry") for e in queue.history(item.id)]
    return steady_rate(events), cpu_per_order


def steady_rate(events: list) -> float:
    """Items per minute completed while every bot was working: from the moment the last bot claimed its
    first item to the moment the first bot completed its last one (so a bot that started its browser
    later, or ran out of items earlier, does not count as idle capacity)."""
    claims = [e for e in events if e.to_state == "in_progress"]
    done = [e for e in events if e.to_state == "successful"]
    workers = {e.worker for e in claims}
    start = max(min(e.at for e in claims if e.worker == w) for w in workers)
    end = min(max(e.at for e in done if e.worker == w) for w in workers)
    finished = sum(1 for e in done if start < e.at <= end)
    return finished / (end - start).total_seconds() * 60


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def measure(work: Path, orders: Path, count: int, portal_url: str, delay_ms: int) -> dict[int, float]:
    """Items per minute for 1 and 2 bots with the portal's request delay set to 0..`delay_ms`."""
    rates = {}
    for bots in (1, 2):
        httpx.post(portal_url + "/api/reset").raise_for_status()
        httpx.post(portal_url + "/api/chaos", json={"delay_ms_max": delay_ms, "seed": 1}).raise_for_status()
        busy0, total0 = cpu_ticks()
        portal0 = time.process_time()
        rates[bots], cpu_per_order = run_pool(work / f"delay-{delay_ms}", bots, orders, count, portal_url)
        portal_cpu = (time.process_time() - portal0) / count
        busy1, total1 = cpu_ticks()
        split = ", ".join(f"{kind} {seconds:.3f}" for kind, seconds in sorted(cpu_per_order.items(), key=lambda kv: -kv[1]))
        print(f"  {bots} bot(s): {rates[bots]:.1f} items/minute; CPU-s per order: bot {sum(cpu_per_order.values()):.3f}"
              f" ({split}), portal {portal_cpu:.3f}"
              f"  (machine CPU busy {100 * (busy1 - busy0) / max(1, total1 - total0):.0f}% over the whole pool run)")
    print(f"  scaling 2 bots / 1 bot: {rates[2] / rates[1]:.2f}x  (target >= 1.7)")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--site-delays", default="0,400",
                        help="comma-separated maximum request delays of the portal, in ms (default 0,400)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bastidor-scaling-"))
    make_orders(work / "orders.xlsx", args.orders)
    with start_portal(PortalSettings(password=PASSWORD, db_path=work / "portal.db", seed=1)) as portal:
        for delay_ms in (int(v) for v in args.site_delays.split(",")):
            (work / f"delay-{delay_ms}").mkdir()
            print(f"portal answering in 0..{delay_ms} ms:")
            measure(work, work / "orders.xlsx", args.orders, portal.url, delay_ms)


if __name__ == "__main__":
    main()
