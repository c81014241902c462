"""What a run's audit log adds to the run page: each step's parameters and values (masked when they were
written), and the same verdict ``audit verify`` gives the log (chain, signatures, anchor, evidence files).
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from bastidor.audit import INCOMPLETE, NOT_VERIFIED, UNSIGNED, VERIFIED, VerifyResult, verify_audit_log
from bastidor.audit.reading import read_records
from bastidor.store import RunRecord, StepRecord

MAX_PROBLEMS_SHOWN = 5
STEP_DETAIL_KEYS = {"params": "written", "values": "used", "result": "result"}
"""Audit record keys shown on the run page, and the names the page knows them by."""


@dataclass(frozen=True)
class AuditCheck:
    """The verdict on a run's audit log, as ``audit verify`` gives it: `state` is verified, incomplete,
    unsigned or not_verified, or in_progress (the run is still going) or missing (no log)."""

    state: str
    summary: str
    problems: tuple[str, ...] = ()
    records: int = 0

    @property
    def verified(self) -> bool:
        """True when the whole log verified."""
        return self.state == VERIFIED


def check_run_audit(run: RunRecord) -> AuditCheck:
    """Verify the run's audit log (against the store's last hash) and say what that means for a person."""
    path = Path(run.audit_path) if run.audit_path else None
    if path is None or not path.is_file():
        return AuditCheck("missing", f"The audit log {path or '(none recorded)'} is missing: the run's evidence "
                          "is gone. Restore it from a backup, or report it.")
    result = verify_audit_log(path, expected_last_hash=run.audit_last_hash, expected_run_id=run.run_id)
    shown = tuple(problem.message for problem in (result.errors or result.problems)[:MAX_PROBLEMS_SHOWN])
    if result.verdict == INCOMPLETE and run.status == "running":
        return AuditCheck("in_progress", f"The run is still going; the {result.records} records so far are intact.",
                          records=result.records)
    return AuditCheck(result.verdict, _SUMMARIES[result.verdict](result), shown, result.records)


def _verified(result: VerifyResult) -> str:
    evidence = f", and its {result.evidence_files} evidence files match" if result.evidence_files else ""
    return (f"Audit chain verified: {result.records} records, none edited, removed or reordered; every one is "
            f"signed{evidence}.")


def _incomplete(result: VerifyResult) -> str:
    proven = (f"the first {result.proven_seq} are proven by a signature" if result.proven_seq
              else "none is signed yet")
    unsigned = f"; the last {result.unsigned_after} are not signed" if result.unsigned_after else ""
    return (f"The bot stopped before it could close the log: the {result.records} records it wrote are intact, "
            f"none edited, removed or reordered; {proven}{unsigned}. Nothing after them was recorded.")


def _unsigned(result: VerifyResult) -> str:
    return (f"Audit log UNSIGNED: {result.records} records, none edited as far as the chain shows, but "
            f"{result.unsigned_after} were written without a signature ({result.unsigned_reason}). Nothing proves "
            "they were not rewritten; ask an administrator to fix the audit signing key.")


def _not_verified(result: VerifyResult) -> str:
    return (f"Audit chain NOT verified: {len(result.errors)} problem(s). The log or its evidence was altered after "
            "it was written; the first break is named below.")


_SUMMARIES = {VERIFIED: _verified, INCOMPLETE: _incomplete, UNSIGNED: _unsigned, NOT_VERIFIED: _not_verified}


def step_details(audit_path: str | None, steps: Iterable[StepRecord]) -> dict[int, dict[str, Any]]:
    """For each step (by seq), what its audit record holds: ``written`` (the params as written in the flow),
    ``used`` (the values after templates were filled in) and ``result``, each only when present.

    Store steps and audit ``step`` records are written together, in the same order; each store step takes
    the first unused audit record with the same step path, item reference and attempt.
    """
    records = _audit_step_records(audit_path)
    waiting: dict[tuple[Any, ...], deque[dict[str, Any]]] = defaultdict(deque)
    for record in records:
        waiting[(record.get("step_path"), record.get("item_ref"), record.get("attempt"))].append(record)
    details: dict[int, dict[str, Any]] = {}
    for step in steps:
        queue = waiting.get((step.path, step.item_ref, step.attempt))
        if queue:
            record = queue.popleft()
            details[step.seq] = {shown: record[key] for key, shown in STEP_DETAIL_KEYS.items()
                                 if record.get(key) not in (None, {}, [])}
    return details


def _audit_step_records(audit_path: str | None) -> list[dict[str, Any]]:
    return [record for record in read_records(audit_path) or [] if record.get("event") == "step"]
