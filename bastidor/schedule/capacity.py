"""Does the worker pool keep up with the schedules? The demand check that `schedules` and `serve` run.

A run's length is the median of the flow's recent finished runs in the run store (`runs.db`); a flow that
has not run yet is assumed to take `FLOOR_S`, or `BROWSER_FLOOR_S` when it opens a browser. Reading the
store never creates it, and a store that cannot be read counts as no history.
"""

from __future__ import annotations

import datetime as dt
import statistics
from pathlib import Path
from typing import Any

from bastidor.flow.diagnostics import FlowValidationError
from bastidor.flow.loader import load_flow
from bastidor.schedule.demand import RunEstimate, ScheduleDemand, describe_overload, find_overload, fire_rate
from bastidor.schedule.model import Schedule

RECENT_RUNS = 20
FLOOR_S = 1.0
BROWSER_FLOOR_S = 5.0
FINISHED = ("succeeded", "failed")


def overload_warning(schedules: list[Schedule], runs_db: Path | str, workers: int, now: dt.datetime) -> str | None:
    """The warning to print when `schedules` keep more bots busy than `workers`; None when the pool keeps up."""
    estimates = estimate_runs(schedules, runs_db)
    demands = [ScheduleDemand(schedule, fire_rate(schedule, now), estimates[schedule.flow_path])
               for schedule in schedules]
    overload = find_overload(demands, workers)
    return None if overload is None else describe_overload(overload)


def estimate_runs(schedules: list[Schedule], runs_db: Path | str) -> dict[Path, RunEstimate]:
    """How long a run of each flow file of `schedules` takes (each flow loaded and looked up once)."""
    store = _open_store(runs_db)
    try:
        return {path: _estimate(path, store) for path in {schedule.flow_path for schedule in schedules}}
    finally:
        if store is not None:
            store.close()


def _estimate(path: Path, store: Any) -> RunEstimate:
    try:
        flow = load_flow(path)
    except FlowValidationError:
        return RunEstimate(FLOOR_S, "its flow has problems, so assumed")
    durations = _recent_durations(store, flow.name) if store is not None else []
    if durations:
        return RunEstimate(statistics.median(durations), f"median of its flow's last {len(durations)} run(s)")
    if flow.needs_browser():
        return RunEstimate(BROWSER_FLOOR_S, "no runs yet, assumed for a flow with a browser")
    return RunEstimate(FLOOR_S, "no runs yet, assumed for a flow without a browser")


def _recent_durations(store: Any, flow_name: str) -> list[float]:
    """Seconds taken by the flow's most recent finished runs (succeeded or failed, not crashed or stopped)."""
    from bastidor.store import StoreError

    try:
        runs = store.list_runs(limit=RECENT_RUNS, flow=flow_name)
    except StoreError:
        return []
    return [(run.ended_at - run.started_at).total_seconds() for run in runs
            if run.status in FINISHED and run.ended_at is not None]


def _open_store(runs_db: Path | str) -> Any:
    """The run store at `runs_db` (a SQLite file, or the shared database's URL) when it exists and opens; None
    otherwise (no history)."""
    from bastidor.database.places import is_postgres
    from bastidor.store import StoreError, open_run_store

    if not is_postgres(runs_db) and not Path(runs_db).is_file():
        return None
    try:
        return open_run_store(runs_db)
    except StoreError:
        return None
