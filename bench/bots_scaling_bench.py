"""Benchmark: items per minute with 1 bot versus 2 bots, on the demo portal, through the real service.

For each pool size the service (`runner.py serve`) starts with that many bot workers and the
order-entry flow is queued once per bot. All bots share one item queue, so each order is entered
once. Throughput is measured from the work queue's own history: items completed divided by the
time from the first item claimed to the last item completed (start-up and sign-in excluded).

    python bench/bots_scaling_bench.py [--orders 60] [--rounds 3] [--site-delays 0,400]

Each site delay is measured on its own: the portal answering at once (the bots are then bound by this
machine's CPU), and with the portal's delay switch adding 0..400 ms to every request, as a web application
on another host would. A shared machine's speed drifts from minute to minute, so each round runs the
1-bot and the 2-bot pool back to back (in turn first), and the ratio is the median of the rounds' ratios.

For each pool run it prints items per minute and, over the middle of the run (start-up and sign-in left
out), the CPU seconds each order cost the service's process tree split by kind of process (sampled from
/proc, see process_cpu.py), and how busy the whole machine was (the portal included). The last line gives
the scaling ratio (target: at least 1.7 on 2 cores) and its ceiling: 2 cores divided by the cores one bot
alone keeps busy, the ratio two bots would reach if they kept both cores busy at no extra cost per order.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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
    CPU seconds per order over the middle of the run, by kind of process (see `cpu_between`)."""
    home = Path(tempfile.mkdtemp(prefix=f"home-{bots}-", dir=work))
    (work / "schedules.yaml").write_text("schedules: []\n")
    env = dict(os.environ, BASTIDOR_SECRET_PORTAL_USER="analyst", BASTIDOR_SECRET_PORTAL_PASSWORD=PASSWORD)
    log = (home / "serve.log").open("w")
    service = subprocess.Popen([sys.executable, str(REPO / "runner.py"), "--home", str(home), "serve",
                                "--schedules", str(work / "schedules.yaml"), "--workers", str(bots),
                                "--base-url", portal_url], env=env, stdout=log, stderr=subprocess.STDOUT)
    sampler = TreeCpu(service.pid).start()
    queue = open_work_queue(home / "queue.db")
    for n in range(bots):
        queue.enqueue_run(f"bench:{bots}:{n}", str(REPO / "flows" / "order_entry.yaml"),
                          {"orders_file": str(orders)}, requested_by="bench")
    margin = max(2 * bots, count // 10)
    first = wait_for_done(queue, margin, sampler)
    last = wait_for_done(queue, count - margin, sampler)
    while queue.counts("Order entry").get("successful", 0) < count:
        time.sleep(0.1)
    service.send_signal(signal.SIGTERM)
    sampler.stop()
    service.wait(timeout=120)
    events = [e for item in queue.items("Order entry") for e in queue.history(item.id)]
    return steady_rate(events), cpu_between(first, last)


@dataclass
class Moment:
    """The counters at one moment of a pool run: orders done, CPU-s by kind of process, machine jiffies."""

    done: int
    cpu: dict[str, float]
    ticks: tuple[int, int]


def cpu_between(first: Moment, last: Moment) -> dict[str, float]:
    """CPU-s per order by kind of process from `first` to `last`, plus the machine's busy share under
    "machine busy"."""
    orders = max(1, last.done - first.done)
    per_order = {kind: (seconds - first.cpu.get(kind, 0.0)) / orders for kind, seconds in last.cpu.items()}
    busy = (last.ticks[0] - first.ticks[0]) / max(1, last.ticks[1] - first.ticks[1])
    return {kind: seconds for kind, seconds in per_order.items() if seconds > 0.0005} | {"machine busy": busy}


def wait_for_done(queue, done: int, sampler: TreeCpu) -> Moment:
    """Wait until `done` orders are successful; the counters at that moment."""
    while (now := queue.counts("Order entry").get("successful", 0)) < done:
        time.sleep(0.1)
    return Moment(now, sampler.snapshot(), cpu_ticks())


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


def measure_pool(work: Path, bots: int, orders: Path, count: int, portal_url: str, delay_ms: int) -> tuple[float, float]:
    """One pool run against a reset portal; prints its figures and returns (items per minute, cores busy)."""
    httpx.post(portal_url + "/api/reset").raise_for_status()
    httpx.post(portal_url + "/api/chaos", json={"delay_ms_max": delay_ms, "seed": 1}).raise_for_status()
    portal0 = time.process_time()
    rate, steady = run_pool(work, bots, orders, count, portal_url)
    portal_cpu = (time.process_time() - portal0) / count
    cores = steady.pop("machine busy") * (os.cpu_count() or 1)
    split = ", ".join(f"{kind} {seconds:.3f}" for kind, seconds in sorted(steady.items(), key=lambda kv: -kv[1]))
    print(f"  {bots} bot(s): {rate:.1f} items/minute, {cores:.2f} cores busy; CPU-s per order:"
          f" bot {sum(steady.values()):.3f} ({split}), portal {portal_cpu:.3f}")
    return rate, cores


def measure(work: Path, orders: Path, count: int, portal_url: str, delay_ms: int, rounds: int) -> None:
    """Rounds of a 1-bot and a 2-bot pool back to back; prints the median rates, ratio and ceiling."""
    rates: dict[int, list[float]] = {1: [], 2: []}
    ratios, ceilings = [], []
    for n in range(rounds):
        this_round = {}
        for bots in ((1, 2) if n % 2 == 0 else (2, 1)):
            this_round[bots] = measure_pool(work, bots, orders, count, portal_url, delay_ms)
            rates[bots].append(this_round[bots][0])
        ratios.append(this_round[2][0] / this_round[1][0])
        ceilings.append((os.cpu_count() or 1) / this_round[1][1])
        print(f"  round {n + 1}: 2 bots / 1 bot {ratios[-1]:.2f}x, ceiling {ceilings[-1]:.2f}x")
    print(f"  medians: 1 bot {statistics.median(rates[1]):.1f}, 2 bots {statistics.median(rates[2]):.1f} items/minute;"
          f" scaling {statistics.median(ratios):.2f}x (target >= 1.7), ceiling {statistics.median(ceilings):.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--site-delays", default="0,400",
                        help="comma-separated maximum request delays of the portal, in ms (default 0,400)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bastidor-scaling-"))
    make_orders(work / "orders.xlsx", args.orders)
    with start_portal(PortalSettings(password=PASSWORD, db_path=work / "portal.db", seed=1)) as portal:
        for delay_ms in (int(v) for v in args.site_delays.split(",")):
            print(f"portal answering in 0..{delay_ms} ms:")
            measure(work, work / "orders.xlsx", args.orders, portal.url, delay_ms, args.rounds)


if __name__ == "__main__":
    main()
