"""What a run's audit log says of itself on the run page: the same verdict ``audit verify`` gives the log
(chain, signatures, anchor, evidence files). Each step's parameters and values come from
`bastidor.report.audit_details`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bastidor.audit import INCOMPLETE, NOT_VERIFIED, UNSIGNED, VERIFIED, VerifyResult, verify_audit_log
from bastidor.store import RunRecord

MAX_PROBLEMS_SHOWN = 5


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
