"""Manual runs: a schedule or a flow queued now, audited with the user who asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bastidor.audit import AuditLog, SecretMasker
from bastidor.audit.journal_lock import journal_lock
from bastidor.flow.loader import load_flow

TRIGGER_LOG = "triggers"


def trigger_run(queue: Any, home: Path, target: str, schedules: Path, inputs: dict, user: str, key: str) -> str:
    """Queue a run of schedule `target` (from `schedules`) or of the flow file `target`; returns the key."""
    flow_path, schedule_id, base_inputs, priority = _resolve(target, schedules)
    flow = load_flow(flow_path)
    merged = {**base_inputs, **inputs}
    queue.enqueue_run(key, str(flow.path), merged, schedule_id=schedule_id, priority=priority,
                      requested_by=user)
    log = home / "service" / f"{TRIGGER_LOG}.jsonl"
    with journal_lock(log), AuditLog.open(log, run_id=TRIGGER_LOG, flow="bastidor-triggers",
                                          flow_sha256=flow.sha256, masker=SecretMasker()) as audit:
        audit.event("run.triggered", key=key, user=user, target=target, flow_file=str(flow.path),
                    schedule_id=schedule_id, inputs=inputs)
    return key


def _resolve(target: str, schedules: Path) -> tuple[Path, str | None, dict, int]:
    path = Path(target)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path, None, {}, 0
    from bastidor.schedule import load_schedules

    schedule_set = load_schedules(schedules)
    schedule = schedule_set.by_id.get(target)
    if schedule is None:
        known = ", ".join(sorted(schedule_set.by_id)) or "none"
        raise LookupError(f"'{target}' is neither a flow file nor a schedule id in {schedules} (ids: {known})")
    return schedule.flow_path, schedule.id, dict(schedule.inputs), schedule.priority
