"""Benchmark: how long the command line takes to answer, against a bare Python start-up.

Each case is run as a fresh process `--runs` times (after one warm-up run, so the file cache is warm) and
the median wall-clock time is printed, with the same median for `python -c pass` on the same interpreter,
so the figures show what Bastidor itself adds to Python's own start-up. The median CPU time (user + system)
of the process is printed too: on a machine shared with other work it moves much less than wall-clock.

The processes cache their compiled bytecode as an installed Bastidor does, but in a temporary folder
(`PYTHONPYCACHEPREFIX`), so the checkout is left as it is and `PYTHONDONTWRITEBYTECODE` in the
environment does not make every run compile every module again.

    python bench/startup_bench.py [--runs 15] [--case NAME ...]

Prints one line per case: median and fastest wall-clock seconds, the median minus the baseline, and the
median CPU seconds. The targets
(under 0.5 s for any `--help`, under 1 s for `validate` of one small flow) are for a machine that is not
busy; on a loaded machine every figure, the baseline too, grows.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNNER = str(REPO / "runner.py")

CASES: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "runner.py --help": [RUNNER, "--help"],
    "runner.py run --help": [RUNNER, "run", "--help"],
    "runner.py validate flows/invoice.yaml": [RUNNER, "validate", "flows/invoice.yaml"],
}
"""What is timed: a name and the arguments given to the Python interpreter. The first is the baseline."""

BASELINE = "python -c pass"


def bytecode_cached_environment(cache: Path) -> dict[str, str]:
    """This environment, with compiled bytecode written to and read from `cache`."""
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPYCACHEPREFIX"] = str(cache)
    return environment


def time_once(arguments: list[str], environment: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds one fresh interpreter takes to run `arguments` to the end; fails loudly
    on a non-zero exit."""
    cpu_before = _children_cpu()
    began = time.perf_counter()
    done = subprocess.run([sys.executable, *arguments], cwd=REPO, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, env=environment)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} exited {done.returncode}: {done.stderr.strip()}")
    return elapsed, _children_cpu() - cpu_before


def _children_cpu() -> float:
    """User plus system CPU seconds of every finished child process so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(arguments: list[str], runs: int, environment: dict[str, str]) -> list[tuple[float, float]]:
    """`runs` (wall-clock, CPU) timings of `arguments`, after one untimed warm-up run (which also fills the
    bytecode cache)."""
    time_once(arguments, environment)
    return [time_once(arguments, environment) for _ in range(runs)]


def report(name: str, timings: list[tuple[float, float]], baseline: float | None) -> str:
    """One line: the case, its median and fastest time, what it adds to the baseline, and its CPU time."""
    wall = [elapsed for elapsed, _ in timings]
    median = statistics.median(wall)
    added = "" if baseline is None else f"+{median - baseline:.3f} s"
    cpu = statistics.median(cpu for _, cpu in timings)
    return f"{name:<40} {median:>7.3f} s {min(wall):>7.3f} s {added:>10} {cpu:>7.3f} s"


def main(argv: list[str] | None = None) -> int:
    """Time every case (or the ones named) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per case (default 15)")
    parser.add_argument("--case", action="append", choices=[name for name in CASES if name != BASELINE],
                        help="only this case (repeatable); the baseline is always timed")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    chosen = [BASELINE, *(args.case or [name for name in CASES if name != BASELINE])]
    print(f"{sys.executable} (Python {sys.version.split()[0]}), {args.runs} runs per case")
    print(f"{'case':<40} {'median':>9} {'fastest':>9} {'added':>10} {'CPU':>9}")
    baseline: float | None = None
    with tempfile.TemporaryDirectory(prefix="bastidor-bench-pycache-") as cache:
        environment = bytecode_cached_environment(Path(cache))
        for name in chosen:
            timings = measure(CASES[name], args.runs, environment)
            print(report(name, timings, baseline), flush=True)
            if name == BASELINE:
                baseline = statistics.median(elapsed for elapsed, _ in timings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
