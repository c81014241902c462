"""What a run's audit log says of itself on the run page: the same verdict ``audit verify`` gives the log
(chain, signatures, anchor, evidence files), from the local file or, for a run that ran on another
machine, from the shared database's copy (`bastidor.audit.shared_copy`). Each step's parameters and
values come from `bastidor.report.audit_details`; `shared_screenshot` serves a screenshot of a run whose
files are on another machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bastidor.audit import INCOMPLETE, NOT_VERIFIED, UNSIGNED, VERIFIED, VerifyResult
from bastidor.audit.shared_copy import SharedDatabaseUnavailable, shared_evidence, verify_run_audit
from bastidor.database.places import database_url
from bastidor.store import RunRecord, RunStore

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
    try:
        audit = verify_run_audit(run.run_id, run.audit_path, database_url(), run.audit_last_hash)
    except SharedDatabaseUnavailable as error:
        return AuditCheck("missing", f"The audit log of this run could not be checked: {error}.")
    if audit is None:
        return _missing(run)
    result = audit.result
    shown = tuple(problem.message for problem in (result.errors or result.problems)[:MAX_PROBLEMS_SHOWN])
    if result.verdict == INCOMPLETE and run.status == "running":
        return AuditCheck("in_progress", f"The run is still going; the {result.records} records so far are intact.",
                          records=result.records)
    where = f" (read from the shared database: the run ran on {run.host or 'another machine'})" \
        if audit.from_shared else ""
    return AuditCheck(result.verdict, _SUMMARIES[result.verdict](result) + where, shown, result.records)


def _missing(run: RunRecord) -> AuditCheck:
    path = Path(run.audit_path) if run.audit_path else None
    if run.status == "running" and database_url():
        return AuditCheck("in_progress", f"The run is still going on {run.host or 'another machine'}; its audit "
                          "records reach the shared database when it ends.")
    elsewhere = " nor in the shared database" if database_url() else ""
    return AuditCheck("missing", f"The audit log {path or '(none recorded)'} is missing{elsewhere}: the run's "
                      "evidence is gone. Restore it from a backup, or report it.")


def shared_screenshot(store: RunStore, run_id: str, name: str) -> bytes | None:
    """The failure screenshot `name` of a run whose files are not on this machine, from the shared database's
    artifact store; only a screenshot a step of that run recorded, and only when a shared database is set."""
    url = database_url()
    run = store.get_run(run_id) if url else None
    if run is None or run.run_id != run_id:
        return None
    recorded = next((step.screenshot for step in store.list_steps(run_id)
                     if step.screenshot and Path(step.screenshot).name == name), None)
    return None if recorded is None else shared_evidence(url, run_id, recorded)


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
