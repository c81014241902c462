"""Benchmark: how late the scheduler enqueues fires with 500 schedules loaded.

Loads 500 interval schedules (every 5 s, spread over the interval) into the real scheduler
(APScheduler 3.11, in-memory job store) with the real SQLite work queue, lets them fire for
`--seconds`, then reports lateness = time the run request was enqueued - its fire time.

    python bench/fire_lateness_bench.py [--schedules 500] [--seconds 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bastidor.audit import AuditLog, SecretMasker  # noqa: E402
from bastidor.queue import open_work_queue  # noqa: E402
from bastidor.schedule import load_schedules  # noqa: E402
from bastidor.service.scheduler import FireRecorder, Scheduler  # noqa: E402


def write_schedules(folder: Path, count: int) -> Path:
    """`count` schedules firing every 5 seconds, their start times spread over the interval."""
    (folder / "noop.yaml").write_text("name: No-op\nsteps:\n  - log: tick\n")
    lines = ["defaults: {timezone: UTC, misfire_grace: 30s, overlap: allow}", "schedules:"]
    for n in range(count):
        start = f"2026-01-01T00:00:{(n % 5):02d}"
        lines.append(f"  - {{id: s{n:04d}, flow: noop.yaml, trigger: {{interval: 5s, start: '{start}'}}}}")
    path = folder / "schedules.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bastidor-fires-"))
    schedule_set = load_schedules(write_schedules(folder, args.schedules))
    queue = open_work_queue(folder / "queue.db")
    audit = AuditLog.open(folder / "audit.jsonl", run_id="bench", flow="bench", flow_sha256="0" * 64,
                          masker=SecretMasker())
    scheduler = Scheduler(FireRecorder(queue, audit))
    started = time.monotonic()
    scheduler.start(schedule_set)
    print(f"{args.schedules} schedules loaded in {time.monotonic() - started:.2f} s; firing for {args.seconds:g} s")
    time.sleep(args.seconds)
    scheduler.shutdown()
    audit.close()
    runs = [r for r in queue.list_runs(limit=1_000_000) if r.state == "queued" and r.fire_time]
    late = [(r.enqueued_at - r.fire_time).total_seconds() * 1000 for r in runs if r.enqueued_at >= r.fire_time]
    print(f"fires enqueued: {len(late)}")
    print(f"lateness median: {statistics.median(late):.1f} ms, p99: {percentile(late, 0.99):.1f} ms, "
          f"max: {max(late):.1f} ms")


if __name__ == "__main__":
    main()
