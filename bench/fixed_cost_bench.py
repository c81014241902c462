"""Benchmark: a run's fixed cost, before its first step and after its last, with `run` and under `serve`.

A tiny flow (three browser steps on the bundled demo portal's sign-in page) is run several times:

- `python runner.py run <flow>`, each a fresh process: (a) from just before the process is started to the
  start of the flow's first step, (b) from the end of its last step to the process' exit;
- under `python runner.py serve --workers 1`, one request at a time, each queued once the worker has been
  idle for `--idle` seconds: (a) from the moment the worker claimed the request (the work queue's
  `started_at`) to the start of the first step, (b) from the end of the last step to the request recorded
  finished in the work queue. The first run of each service launches its bot's browser and is left out.
  The service is measured with warm contexts (the default) and with BASTIDOR_WARM_CONTEXTS=0.

Step times are the run store's own (each step's `started_at` and `duration_ms`); the browser start, a line
of its own in the step tree, counts in (a). Process times are wall-clock times taken around the process.

    python bench/fixed_cost_bench.py [--reps 10] [--idle 1.0] [--skip-cold]

Prints the median and p90 of (a) and (b) for each mode, and the browser start's own time (target: under
0.5 s for (a) and (b) under serve). Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bastidor.database.places import places_for  # noqa: E402
from bastidor.demo_portal import PortalSettings, start_portal  # noqa: E402
from bastidor.queue import open_work_queue  # noqa: E402
from bastidor.store import open_run_store  # noqa: E402

PASSWORD = "bench-password-3"
FLOW = """name: Fixed cost probe
bot: {{base_url: "{url}"}}
steps:
  - open: /login
  - fill: {{label: Username, value: analyst}}
  - assert_visible: {{role: button, name: Sign in}}
"""


@dataclass
class Sample:
    """One run's fixed costs, in seconds, and its browser start in milliseconds."""

    before_first_step: float
    after_last_step: float
    browser_start_ms: float


def run_bounds(home: Path, run_id: str) -> tuple[float, float, float]:
    """(first flow step's start, last step's end, browser start ms) of a run, from the run store."""
    with open_run_store(places_for(home).runs) as store:
        steps = store.list_steps(run_id)
    flow_steps = [step for step in steps if step.action != "start_browser"]
    first = min(_epoch(step.started_at) for step in flow_steps)
    last = max(_epoch(step.started_at) + (step.duration_ms or 0) / 1000 for step in steps)
    browser = sum(step.duration_ms or 0 for step in steps if step.action == "start_browser")
    return first, last, browser


def _epoch(moment: dt.datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)).timestamp()


def measure_run(work: Path, flow: Path, reps: int) -> list[Sample]:
    """`runner.py run` as fresh processes, timed from just before the start to the exit."""
    home, samples = work / "home-run", []
    for _ in range(reps):
        started = time.time()
        subprocess.run([sys.executable, str(REPO / "runner.py"), "--home", str(home), "run", str(flow)],
                       check=True, capture_output=True, cwd=work)
        exited = time.time()
        with open_run_store(places_for(home).runs) as store:
            run_id = store.list_runs(limit=1)[0].run_id
        first, last, browser = run_bounds(home, run_id)
        samples.append(Sample(first - started, exited - last, browser))
    return samples


def measure_serve(work: Path, flow: Path, reps: int, idle_s: float, warm: bool) -> list[Sample]:
    """One request at a time through `serve --workers 1`, each queued once the worker has been idle."""
    home = work / ("home-warm" if warm else "home-cold")
    (work / "schedules.yaml").write_text("schedules: []\n")
    paths = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))  # the workers run this copy
    env = dict(os.environ, PYTHONPATH=paths, BASTIDOR_WARM_CONTEXTS="1" if warm else "0")
    log = (work / f"serve-{home.name}.log").open("w")
    service = subprocess.Popen([sys.executable, str(REPO / "runner.py"), "--home", str(home), "serve",
                                "--schedules", str(work / "schedules.yaml"), "--workers", "1"],
                               env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    samples = []
    try:
        queue = _wait_for_queue(home)
        for number in range(reps + 1):  # the first run launches the browser: left out
            key = f"bench:{home.name}:{number}"
            queue.enqueue_run(key, str(flow), {}, requested_by="bench")
            request = _wait_done(queue, key)
            first, last, browser = run_bounds(home, request.run_id)
            if number:
                samples.append(Sample(first - _epoch(request.started_at), _epoch(request.finished_at) - last,
                                      browser))
            time.sleep(idle_s)
        queue.close()
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=120)
    return samples


def _wait_for_queue(home: Path):
    deadline = time.monotonic() + 60
    while not (home / "queue.db").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return open_work_queue(places_for(home).queue)


def _wait_done(queue, key: str):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        [request] = [run for run in queue.list_runs(limit=20) if run.key == key]
        if request.state not in ("queued", "running", "leased"):
            if request.state != "done":
                raise SystemExit(f"the bench run ended {request.state}: {request.error}")
            return request
        time.sleep(0.05)
    raise SystemExit(f"the bench run {key} did not finish in 2 minutes")


def p90(values: list[float]) -> float:
    """The 90th percentile, nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def report(label: str, samples: list[Sample]) -> None:
    """Print one mode's figures."""
    before = [s.before_first_step for s in samples]
    after = [s.after_last_step for s in samples]
    browser = [s.browser_start_ms for s in samples]
    print(f"{label:<22} (a) start -> first step: median {statistics.median(before):.3f} s, p90 {p90(before):.3f} s"
          f" | (b) last step -> end: median {statistics.median(after):.3f} s, p90 {p90(after):.3f} s"
          f" | browser start: median {statistics.median(browser):.1f} ms  (n={len(samples)})", flush=True)


def main() -> None:
    """Run every mode and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10, help="measured runs per mode (default 10)")
    parser.add_argument("--idle", type=float, default=1.0, help="seconds a serve worker idles between runs")
    parser.add_argument("--skip-cold", action="store_true", help="leave out serve with warm contexts off")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bastidor-fixed-cost-") as folder:
        work = Path(folder)
        with start_portal(PortalSettings(password=PASSWORD, db_path=work / "portal.db", seed=3)) as portal:
            flow = work / "probe.yaml"
            flow.write_text(FLOW.format(url=portal.url))
            print(f"fixed cost of a 3-step browser flow on the demo portal, {args.reps} runs per mode "
                  f"({os.cpu_count()} cores)", flush=True)
            report("run (fresh process)", measure_run(work, flow, args.reps))
            report("serve, warm contexts", measure_serve(work, flow, args.reps, args.idle, warm=True))
            if not args.skip_cold:
                report("serve, warm off", measure_serve(work, flow, args.reps, args.idle, warm=False))


if __name__ == "__main__":
    main()
