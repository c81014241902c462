"""What verifying an audit log concluded, and how it is said to a person.

There are four verdicts, each with its exit code for ``runner.py audit verify``:

- ``verified`` (0): the chain is whole, every record is covered by a good signature, and the log ended
  the way its kind ends (a journal never ends);
- ``incomplete`` (0): nothing was edited, removed or reordered, but the process that wrote the log stopped
  before closing it: the records up to the last signature are proven, the few after it are not signed;
- ``unsigned`` (1): the chain is whole, but records were written without a signing key (the log says why),
  so nothing proves they were not rewritten;
- ``not_verified`` (1): the log was altered, or a signature, the anchor or an evidence file does not match.

A log that cannot be found is exit code 2 (the command says so before any verdict).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

VERIFIED = "verified"
INCOMPLETE = "incomplete"
UNSIGNED = "unsigned"
NOT_VERIFIED = "not_verified"
EXIT_CODES = {VERIFIED: 0, INCOMPLETE: 0, UNSIGNED: 1, NOT_VERIFIED: 1}
MAX_PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class AuditProblem:
    """One finding in an audit log: where it is (line and seq when known) and what it means.

    An ``error`` means the log cannot be trusted; a ``warning`` is worth knowing but changes nothing proven."""

    line: int | None
    seq: int | None
    message: str
    severity: str = "error"
    area: str = "chain"
    """What the problem is about: the ``chain`` of records, the ``seals``, the log's ``end``, or ``evidence``."""


@dataclass
class VerifyResult:
    """The outcome of verifying one audit log: its `verdict`, what is proven, and every problem found."""

    path: Path
    records: int = 0
    problems: list[AuditProblem] = field(default_factory=list)
    run_id: str | None = None
    last_hash: str | None = None
    kind: str = "run log"
    open_ended: bool = False
    ended: bool = False
    checkpoints: int = 0
    proven_seq: int = 0
    proven_line: int | None = None
    proven_by: str | None = None
    unsigned_after: int = 0
    unsigned_reason: str | None = None
    evidence_files: int = 0
    verdict: str = NOT_VERIFIED
    source: str | None = None
    """Where the log was read when not from a file (the shared database), for messages."""

    @property
    def label(self) -> str:
        """The log as messages name it: its file, or where it was read."""
        return self.source or str(self.path)

    @property
    def ok(self) -> bool:
        """True when the verdict is ``verified``."""
        return self.verdict == VERIFIED

    @property
    def errors(self) -> list[AuditProblem]:
        """The problems that make the log NOT VERIFIED."""
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def first_problem(self) -> AuditProblem | None:
        """The first error (the first point of breakage), else the first warning, else None."""
        return next(iter(self.errors), None) or next(iter(self.problems), None)

    @property
    def exit_code(self) -> int:
        """The exit code ``audit verify`` ends with for this result."""
        return EXIT_CODES[self.verdict]

    def add(self, line: int | None, seq: int | None, message: str, severity: str = "error", area: str = "chain") -> None:
        """Note one problem."""
        self.problems.append(AuditProblem(line, seq, message, severity, area))


def decide_verdict(result: VerifyResult) -> str:
    """The verdict the findings in `result` add up to (see the module)."""
    if result.errors:
        return NOT_VERIFIED
    if result.unsigned_reason is not None:
        return UNSIGNED
    if result.unsigned_after or not result.ended:
        return INCOMPLETE
    return VERIFIED


def format_result(result: VerifyResult) -> str:
    """A person's summary of `result` for the command line: the verdict first, then what it rests on."""
    lines = [_HEADLINES[result.verdict](result)]
    shown = result.problems[:MAX_PROBLEMS_SHOWN]
    lines += [f"  {problem.severity}: {problem.message}" for problem in shown]
    if len(result.problems) > MAX_PROBLEMS_SHOWN:
        lines.append(f"  ... and {len(result.problems) - MAX_PROBLEMS_SHOWN} more (consequences of the breaks above).")
    first = result.first_problem
    if result.verdict == NOT_VERIFIED and first is not None and first.line is not None and first.area == "chain":
        lines.append(f"The first break is at line {first.line}; records before it are intact.")
    return "\n".join(lines)


def _verified(result: VerifyResult) -> str:
    ending = "" if result.open_ended else ", ends with run.finished and its closing checkpoint"
    evidence = f", {result.evidence_files} evidence files match" if result.evidence_files else ""
    return (f"OK: {result.label}: {result.records} records of {result.kind} {result.run_id}, hash chain intact, "
            f"every record signed (last seal: {result.proven_by}){ending}{evidence} "
            f"(last hash {str(result.last_hash)[:16]}).")


def _incomplete(result: VerifyResult) -> str:
    if not result.records:
        return f"INCOMPLETE: {result.label}: the log is empty; nothing in it can have been edited."
    proven = (f"the records up to line {result.proven_line} (seq {result.proven_seq}) are proven by "
              f"{result.proven_by}")
    unsigned = (f"the {result.unsigned_after} record{'s' * (result.unsigned_after != 1)} after it "
                f"{'are' if result.unsigned_after != 1 else 'is'} not signed" if result.unsigned_after
                else "every record is signed")
    stopped = ("The last records were written after the last seal (a process stopped before sealing them, or "
               "they were added)." if result.open_ended else
               "The process that wrote it stopped before it closed the log (killed, crashed, or still running).")
    return (f"INCOMPLETE: {result.label}: {result.records} records of {result.kind} {result.run_id}, none edited, "
            f"removed or reordered; {proven}; {unsigned}. {stopped}")


def _unsigned(result: VerifyResult) -> str:
    count = result.unsigned_after
    return (f"UNSIGNED: {result.label}: {result.records} records of {result.kind} {result.run_id}, hash chain intact, "
            f"but {count} record{'s' * (count != 1)} {'were' if count != 1 else 'was'} written without a signature: "
            f"{result.unsigned_reason}. Nothing proves {'they were' if count != 1 else 'it was'} not rewritten; "
            "make the signing key usable (see `runner.py audit key`).")


def _not_verified(result: VerifyResult) -> str:
    count = len(result.problems)
    return f"NOT VERIFIED: {result.label}: {result.records} records, {count} problem{'s' * (count != 1)}."


_HEADLINES = {VERIFIED: _verified, INCOMPLETE: _incomplete, UNSIGNED: _unsigned, NOT_VERIFIED: _not_verified}
