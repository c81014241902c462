"""The audit verifier: proves a run's log was not altered, or names the exact record that was.

`verify_audit_log` walks the hash chain record by record and reports every break it finds, the first
one most precisely: an edited record (its hash does not match its content), a removed record (a gap in
``seq``), a reordered or duplicated record, a line that is not JSON, a record of another run mixed in,
and a log that stops before ``run.finished`` (records may have been cut from the end). When the run store
kept the log's last hash, pass it as `expected_last_hash` to catch a rewritten or shortened log too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bastidor.audit.canonical import ZERO_HASH, record_hash

REQUIRED_KEYS = ("run_id", "seq", "event", "prev_hash", "hash")
OPEN_ENDED_LOGS = frozenset({"bastidor-console"})
"""``flow`` of journals that never finish (the console's log): no ``run.finished`` is expected at their end."""
MAX_PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class AuditProblem:
    """One break in an audit log: where it is (line and seq when known) and what it means."""

    line: int | None
    seq: int | None
    message: str
    severity: str = "error"


@dataclass
class VerifyResult:
    """The outcome of verifying one audit log; `ok` only when the chain is whole and complete."""

    path: Path
    records: int = 0
    problems: list[AuditProblem] = field(default_factory=list)
    run_id: str | None = None
    last_hash: str | None = None
    open_ended: bool = False

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    @property
    def first_problem(self) -> AuditProblem | None:
        """The first point of breakage, or None when the log verifies."""
        return self.problems[0] if self.problems else None


@dataclass(frozen=True)
class _Record:
    line: int
    data: dict[str, Any]

    @property
    def seq(self) -> int:
        return self.data["seq"]

    @property
    def where(self) -> str:
        return f"line {self.line} (seq {self.seq})"


@dataclass(frozen=True)
class _Damaged:
    line: int
    message: str


def verify_audit_log(path: str | Path, expected_last_hash: str | None = None) -> VerifyResult:
    """Verify the hash chain of the audit log at `path` and return what was found."""
    result = VerifyResult(path=Path(path))
    try:
        data = result.path.read_bytes()
    except OSError as error:
        result.problems.append(AuditProblem(None, None, f"cannot read {path}: {error.strerror or error}"))
        return result
    entries = _parse_lines(data)
    _ChainWalker(result, entries).walk()
    _check_end(result, entries, expected_last_hash)
    return result


def format_result(result: VerifyResult) -> str:
    """Return a human summary of `result` for the command line."""
    if result.ok:
        ending = "open-ended journal" if result.open_ended else "ends with run.finished"
        return (f"OK: {result.path}: {result.records} records from run {result.run_id}, hash chain intact, "
                f"{ending} (last hash {str(result.last_hash)[:16]}).")
    count = len(result.problems)
    lines = [f"NOT VERIFIED: {result.path}: {result.records} records, {count} problem{'s' * (count != 1)}."]
    for problem in result.problems[:MAX_PROBLEMS_SHOWN]:
        lines.append(f"  {problem.severity}: {problem.message}")
    if count > MAX_PROBLEMS_SHOWN:
        lines.append(f"  ... and {count - MAX_PROBLEMS_SHOWN} more (consequences of the breaks above).")
    first = result.first_problem
    if first is not None and first.line is not None:
        lines.append(f"The first break is at line {first.line}; records before it are intact.")
    return "\n".join(lines)


def _parse_lines(data: bytes) -> list[_Record | _Damaged]:
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    return [_parse_line(number, raw) for number, raw in enumerate(raw_lines, start=1)]


def _parse_line(number: int, raw: bytes) -> _Record | _Damaged:
    if not raw.strip():
        return _Damaged(number, f"line {number} is empty: the file was edited")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        reason = getattr(error, "msg", None) or "not valid UTF-8"
        return _Damaged(number, f"line {number} is not a JSON record ({reason}): it was edited or damaged")
    if not isinstance(data, dict):
        return _Damaged(number, f"line {number} is not a JSON object: it is not an audit record")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        return _Damaged(number, f"line {number} lacks {', '.join(missing)}: it is not an audit record")
    if isinstance(data["seq"], bool) or not isinstance(data["seq"], int):
        return _Damaged(number, f"line {number} has a seq that is not a whole number: it was edited")
    return _Record(number, data)


class _ChainWalker:
    """Follows ``seq`` and ``prev_hash`` from record to record, noting each break."""

    def __init__(self, result: VerifyResult, entries: list[_Record | _Damaged]) -> None:
        self.result = result
        self.entries = entries
        self.run_id = next((entry.data["run_id"] for entry in entries if isinstance(entry, _Record)), None)
        self.prev: _Record | None = None
        self.seen: dict[int, int] = {}
        self.damaged: list[int] = []
        result.run_id = self.run_id

    def walk(self) -> None:
        """Check every line in file order."""
        for index, entry in enumerate(self.entries):
            if isinstance(entry, _Damaged):
                self.damaged.append(entry.line)
                self._problem(entry.line, None, entry.message)
            elif entry.data["run_id"] != self.run_id:
                self._problem(entry.line, entry.seq, f"{entry.where}: record belongs to run {entry.data['run_id']}, "
                              f"not run {self.run_id}: a record from another run was mixed in")
            else:
                self._check(index, entry)

    def _check(self, index: int, record: _Record) -> None:
        self.result.records += 1
        if record_hash(record.data) != record.data["hash"]:
            self._problem(record.line, record.seq, f"{record.where}: record was edited: its hash does not match "
                          "its content")
        if self._in_order(index, record):
            self.seen.setdefault(record.seq, record.line)
            self.prev, self.damaged = record, []
            self.result.last_hash = record.data["hash"]

    def _in_order(self, index: int, record: _Record) -> bool:
        prev_seq = self.prev.seq if self.prev else 0
        if record.seq == prev_seq + 1:
            self._check_link(record)
            return True
        if record.seq > prev_seq + 1:
            self._gap(index, record, prev_seq)
            return True
        if record.seq in self.seen:
            self._problem(record.line, record.seq, f"line {record.line}: seq {record.seq} appears again (first at "
                          f"line {self.seen[record.seq]}): a record was duplicated")
        else:
            self._problem(record.line, record.seq, f"line {record.line}: seq {record.seq} follows seq {prev_seq}: "
                          f"record seq {record.seq} is out of order (records were reordered)")
        return False

    def _check_link(self, record: _Record) -> None:
        expected = self.prev.data["hash"] if self.prev else ZERO_HASH
        if record.data["prev_hash"] == expected:
            return
        before = f"the record before it ({self.prev.where})" if self.prev else "the start of the log (64 zeros)"
        self._problem(record.line, record.seq, f"{record.where}: prev_hash does not match {before}: a record was "
                      "replaced or inserted there")

    def _gap(self, index: int, record: _Record, prev_seq: int) -> None:
        first_missing = prev_seq + 1
        missing, verb = _seq_range(first_missing, record.seq - 1)
        moved_to = self._later_line_of(first_missing, index)
        if prev_seq:
            lead, where = f"line {record.line}: seq {record.seq} follows seq {prev_seq}", ""
        else:
            lead, where = f"line {record.line}: the log starts at seq {record.seq}", " from the start"
        if moved_to is not None:
            tail = f"record seq {first_missing} was moved (it is at line {moved_to}): records were reordered"
        elif self.damaged:
            tail = f"{missing} {verb} lost (see the damaged line {', '.join(map(str, self.damaged))})"
        else:
            tail = f"{missing} {verb} removed{where}"
        self._problem(record.line, record.seq, f"{lead}: {tail}")

    def _later_line_of(self, seq: int, index: int) -> int | None:
        for entry in self.entries[index + 1:]:
            if isinstance(entry, _Record) and entry.seq == seq and entry.data["run_id"] == self.run_id:
                return entry.line
        return None

    def _problem(self, line: int | None, seq: int | None, message: str) -> None:
        self.result.problems.append(AuditProblem(line, seq, message))


def _check_end(result: VerifyResult, entries: list[_Record | _Damaged], expected_last_hash: str | None) -> None:
    own = [entry for entry in entries if isinstance(entry, _Record) and entry.data["run_id"] == result.run_id]
    if not own:
        if not result.problems:
            result.problems.append(AuditProblem(None, None, "the log holds no records"))
        return
    last = max(own, key=lambda record: record.seq)
    last_hash = str(last.data["hash"])
    if expected_last_hash is not None and last_hash != expected_last_hash:
        result.problems.append(AuditProblem(last.line, last.seq, (
            f"log ends at seq {last.seq} with hash {last_hash[:16]}, but the run store recorded "
            f"{expected_last_hash[:16]}: records were removed from the end or the log was rewritten")))
    result.open_ended = last.data.get("flow") in OPEN_ENDED_LOGS
    if last.data["event"] != "run.finished" and not result.open_ended:
        result.problems.append(AuditProblem(last.line, last.seq, (
            f"log ends at seq {last.seq} without run.finished: records may have been removed from the end "
            "(or the run is still going, or it was killed)"), severity="warning"))


def _seq_range(first: int, last: int) -> tuple[str, str]:
    return (f"record seq {first}", "was") if first == last else (f"records seq {first}-{last}", "were")
