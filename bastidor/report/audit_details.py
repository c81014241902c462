"""What a run's audit log adds to its step records: each step's parameters as written, the values it used
and its result (a logged message, a value read from the page, rows read), all masked when they were written.

    details = step_details(run.audit_path, store.list_steps(run.run_id))   # {seq: {"written": ..., ...}}
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any, Iterable

from bastidor.audit.reading import read_records
from bastidor.store import StepRecord

STEP_DETAIL_KEYS = {"params": "written", "values": "used", "result": "result"}
"""Audit record keys kept for each step, and the names reports and pages know them by."""


def step_details(audit_path: str | None, steps: Iterable[StepRecord]) -> dict[int, dict[str, Any]]:
    """For each step (by seq), what its audit record holds: ``written`` (the params as written in the flow),
    ``used`` (the values after templates were filled in) and ``result``, each only when present.

    Store steps and audit ``step`` records are written together, in the same order; each store step takes
    the first unused audit record with the same step path, item reference and attempt. A log that cannot be
    read gives no details (the step records still show everything else).
    """
    waiting: dict[tuple[Any, ...], deque[dict[str, Any]]] = defaultdict(deque)
    for record in read_records(audit_path, containing='"event":"step"') or []:
        if record.get("event") == "step":
            waiting[(record.get("step_path"), record.get("item_ref"), record.get("attempt"))].append(record)
    details: dict[int, dict[str, Any]] = {}
    for step in steps:
        queue = waiting.get((step.path, step.item_ref, step.attempt))
        if queue:
            record = queue.popleft()
            details[step.seq] = {shown: record[key] for key, shown in STEP_DETAIL_KEYS.items()
                                 if record.get(key) not in (None, {}, [])}
    return details
