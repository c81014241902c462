"""Runs left "running" by a process that is gone: killed (kill -9, power loss) or unable to write its outcome
(the run store was full or read-only when it ended). They are ended when the run history is next read on
the same host: with the outcome their audit log recorded when it has one (the run store missed it), or as
crashed. Items the work queue says the run completed count as successful.
"""

from __future__ import annotations

import socket
from typing import Any

from bastidor.audit.reading import read_records
from bastidor.processes import is_alive
from bastidor.store.base import RunStore, StoreError

STALE_REASON = "its process (pid {pid}) ended without recording how the run ended: it was killed, or the run store " \
               "could not be written when it finished"
MAX_CHECKED = 500


def end_stale_runs(store: RunStore, queue: Any = None) -> list[str]:
    """End this host's runs that are still "running" although their process is gone; returns their ids.
    Never raises: a store that cannot be written now is tried again at the next reading."""
    ended = []
    try:
        for run in store.list_runs(limit=MAX_CHECKED, status="running"):
            if _is_stale(run) and _end(store, run, queue):
                ended.append(run.run_id)
    except StoreError:
        return ended
    return ended


def _is_stale(run: Any) -> bool:
    return run.pid is not None and run.host == socket.gethostname() and not is_alive(run.pid)


def _end(store: RunStore, run: Any, queue: Any) -> bool:
    finished = _finished_record(run.audit_path)
    outcomes = _outcomes(queue, run.run_id)
    if finished is not None:
        return store.close_orphaned_run(run.run_id, finished.get("error"), status=finished["status"],
                                        outcomes=outcomes)
    return store.close_orphaned_run(run.run_id, STALE_REASON.format(pid=run.pid), outcomes=outcomes)


def _finished_record(audit_path: str | None) -> dict | None:
    """The run.finished record of the run's audit log, if it has one."""
    records = read_records(audit_path, containing='"run.finished"') or []
    finished = [record for record in records if record.get("event") == "run.finished"]
    return finished[-1] if finished and isinstance(finished[-1].get("status"), str) else None


def _outcomes(queue: Any, run_id: str) -> dict[str, str] | None:
    if queue is None:
        return None
    try:
        return queue.outcomes_of_run(run_id)
    except Exception:  # noqa: BLE001 - the queue is optional evidence; without it unfinished items fail
        return None
