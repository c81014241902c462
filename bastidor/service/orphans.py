"""Runs left behind by a dead worker: when a run request's lease is reaped, the run its worker had
started is ended in the run store as crashed, and its unfinished items as failed, so no run stays
"running" forever. The items themselves are safe in the work queue and are taken again by a new run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bastidor.store import open_run_store

ORPHAN_REASON = "its bot stopped while the run was in progress ({why}); the unfinished items are retried by a new run"


def close_orphaned_runs(queue: Any, home: Path, request_ids: list[int], why: str, audit: Any) -> list[str]:
    """End, in the run store, the runs started for the reaped `request_ids`; returns the run ids ended."""
    run_ids = [request.run_id for request in map(queue.get_run, request_ids)
               if request is not None and request.run_id]
    if not run_ids:
        return []
    ended = []
    with open_run_store(home / "runs.db") as store:
        for run_id in run_ids:
            if store.close_orphaned_run(run_id, ORPHAN_REASON.format(why=why)):
                ended.append(run_id)
    if ended:
        audit.event("runs.orphaned", run_ids=ended, why=why)
    return ended
