"""Benchmark: how late the scheduler records fires with 500 schedules loaded, and how fast it stops.

Loads the schedules into the real scheduler (APScheduler 3.11, in-memory job store) with the real SQLite
work queue and service audit log, lets them fire for `--seconds`, stops the scheduler, then reports
lateness = the time the run request was recorded - its fire time (p50, p99, max), how many fire times
were coalesced into a later one or dropped at the stop, and how long `shutdown()` took.

- default: 500 interval schedules every 5 s, their start times spread over the interval (100 fires a
  second), overlap `allow` (target: p99 < 100 ms);
- `--overload`: 500 schedules every 1 s (500 fires a second), overlap `skip` (the default), so every
  fire after the first is checked and skipped (target: lateness < 2 s, shutdown at once).

`--baseline` first runs the same case with the recording thread as it was before batching (one
transaction and one audit record per fire, no coalescing, a shutdown that records every fire still
waiting), in the same process, for comparison.

    python bench/fire_lateness_bench.py [--schedules 500] [--seconds 20] [--overload] [--baseline]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bastidor.audit import AuditLog, SecretMasker  # noqa: E402
from bastidor.queue import open_work_queue  # noqa: E402
from bastidor.schedule import load_schedules  # noqa: E402
from bastidor.service.journal import ServiceJournal  # noqa: E402
from bastidor.service.scheduler import FireRecorder, FireWriter, Scheduler  # noqa: E402


class OneByOneWriter(FireWriter):
    """The recording thread before batching: one fire per transaction and audit record, no coalescing,
    and a shutdown that records every fire still waiting."""

    def stop(self) -> Counter[str]:
        """Record everything still waiting, then stop."""
        self._waiting.put(None)
        if self._thread.is_alive():
            self._thread.join()
        return Counter()

    def _write_until_stopped(self) -> None:
        while (fire := self._waiting.get()) is not None:
            try:
                self.recorder.record([fire])
            except Exception as error:  # as before: one lost fire never stops the next ones
                self._report_lost([fire], error)


@dataclass
class Result:
    """One measured case."""

    lateness_ms: list[float]
    states: Counter[str]
    coalesced: int
    dropped: int
    shutdown_s: float


def write_schedules(folder: Path, count: int, every_s: int, overlap: str) -> Path:
    """`count` schedules firing every `every_s` seconds, their start times spread over the interval."""
    (folder / "noop.yaml").write_text("name: No-op\nsteps:\n  - log: tick\n")
    lines = [f"defaults: {{timezone: UTC, misfire_grace: 30s, overlap: {overlap}}}", "schedules:"]
    for n in range(count):
        start = f"2026-01-01T00:00:{(n % every_s):02d}"
        lines.append(f"  - {{id: s{n:04d}, flow: noop.yaml, trigger: {{interval: {every_s}s, start: '{start}'}}}}")
    path = folder / "schedules.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def measure(schedules: int, seconds: float, overload: bool, writer: type[FireWriter]) -> Result:
    """Fire for `seconds` in a fresh folder (removed afterwards) with `writer` recording, stop, and measure."""
    with tempfile.TemporaryDirectory(prefix="bastidor-fires-") as folder:
        return _measure_in(Path(folder), schedules, seconds, overload, writer)


def _measure_in(folder: Path, schedules: int, seconds: float, overload: bool, writer: type[FireWriter]) -> Result:
    every_s, overlap = (1, "skip") if overload else (5, "allow")
    schedule_set = load_schedules(write_schedules(folder, schedules, every_s, overlap))
    queue = open_work_queue(folder / "queue.db")
    path = folder / "service.jsonl"
    audit = ServiceJournal(path, lambda: AuditLog.open(path, run_id="bench", flow="bastidor-service",
                                                       flow_sha256="0" * 64, masker=SecretMasker()))
    scheduler = Scheduler(FireRecorder(queue, audit))
    scheduler.writer = writer(scheduler.recorder, scheduler.clock)
    scheduler.start(schedule_set)
    time.sleep(seconds)
    started = time.monotonic()
    dropped = sum(scheduler.shutdown().values())
    shutdown_s = time.monotonic() - started
    audit.close()
    runs = [run for run in queue.list_runs(limit=10_000_000) if run.fire_time]
    queue.close()
    if scheduler.recorder.pauses is not None:
        scheduler.recorder.pauses.close()
    late = [(run.enqueued_at - run.fire_time).total_seconds() * 1000 for run in runs]
    return Result(late, Counter(run.state for run in runs), sum(scheduler.writer.coalesced.values()), dropped,
                  shutdown_s)


def report(label: str, result: Result) -> None:
    """Print one case's figures."""
    late = result.lateness_ms
    states = ", ".join(f"{count} {state}" for state, count in sorted(result.states.items()))
    print(f"  {label}: {len(late)} fires recorded ({states})")
    print(f"    lateness median {statistics.median(late):.1f} ms, p99 {percentile(late, 0.99):.1f} ms, "
          f"max {max(late):.1f} ms")
    print(f"    coalesced {result.coalesced}, dropped at stop {result.dropped}, shutdown {result.shutdown_s:.2f} s")


def main() -> None:
    """Run the case (and its baseline when asked) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--overload", action="store_true", help="every schedule fires every second")
    parser.add_argument("--baseline", action="store_true", help="also run the one-fire-per-transaction writer")
    args = parser.parse_args()
    case = "every 1 s, overlap skip" if args.overload else "every 5 s, overlap allow"
    print(f"{args.schedules} schedules {case}, firing for {args.seconds:g} s")
    if args.baseline:
        report("one by one (before)", measure(args.schedules, args.seconds, args.overload, OneByOneWriter))
    report("batched", measure(args.schedules, args.seconds, args.overload, FireWriter))


if __name__ == "__main__":
    main()
