"""Runs left behind by a dead worker: when a run request's lease is reaped, the run its worker had
started is ended in the run store as crashed, so no run stays "running" forever. Its unfinished items
are failed, except those the work queue says this run completed (the bot died after recording the
item in the queue but before the run store), and its item counts are recounted from its items, and `run_failed` (crashed) is sent to the notification rules, since the dead bot
could not send it. The items themselves are safe in the work queue and are taken again by a new run.

A worker that was only slow, not dead, still finishes its run afterwards: its own final update of the
run and of its items replaces what was written here."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from bastidor.database.places import places_for

ORPHAN_REASON = "its bot stopped while the run was in progress ({why}); the unfinished items are retried by a new run"


def close_orphaned_runs(home: Path, run_ids: list[str], why: str, audit: Any, queue: Any = None) -> list[str]:
    """End, in the run store, the runs `run_ids` of reaped requests (`ReapResult.orphaned_runs`) that are
    still running, reading each item's outcome from `queue` when given; returns the run ids ended."""
    from bastidor.store import open_run_store

    if not run_ids:
        return []
    ended = []
    with open_run_store(places_for(home).runs) as store:
        for run_id in run_ids:
            outcomes = queue.outcomes_of_run(run_id) if queue is not None else None
            if store.close_orphaned_run(run_id, ORPHAN_REASON.format(why=why), outcomes=outcomes):
                ended.append(run_id)
    if ended:
        audit.event("runs.orphaned", run_ids=ended, why=why)
        threading.Thread(target=notify_crashed, args=(home, ended), name="orphan-notices", daemon=True).start()
    return ended


def notify_crashed(home: Path, run_ids: list[str]) -> None:
    """Send `run_failed` (status crashed) for runs ended here: their bot died, so it could not send it itself.
    Runs in the background and is not audited (the service log may close meanwhile); a delivery that
    failed is not marked as sent, and nothing is ever raised."""
    from bastidor.notify.api import send_event
    from bastidor.notify.events import RunFailed
    from bastidor.store import open_run_store

    try:
        with open_run_store(places_for(home).runs) as store:
            runs = [store.get_run(run_id) for run_id in run_ids]
        for run in filter(None, runs):
            send_event(RunFailed(flow=run.flow_name, run_id=run.run_id, status="crashed", started_at=run.started_at,
                                 error=run.error, report_path=run.report_path, audit_path=run.audit_path), home=home)
    except Exception:  # a background notice must never disturb the service
        return


def close_or_keep(home: Path, run_ids: list[str], why: str, audit: Any, queue: Any = None) -> list[str]:
    """`close_orphaned_runs` that never raises: returns the run ids still to end, all of them when the run
    store could not be used (e.g. locked for long), so the caller can try again at its next check."""
    try:
        close_orphaned_runs(home, run_ids, why, audit, queue)
    except Exception as error:  # the service must go on; the runs are ended at a later try
        try:
            audit.event("runs.orphaned_not_ended", run_ids=run_ids, why=why, error=f"{type(error).__name__}: {error}")
        except Exception:  # the service log is closed or broken: nothing more can be recorded
            pass
        return list(run_ids)
    return []
