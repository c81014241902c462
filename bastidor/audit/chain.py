"""Reading an audit log's lines and following its hash chain, naming each break.

`read_chain` parses every line and walks ``seq`` and ``prev_hash`` from record to record. It names an
edited record (its hash does not match its content), a removed record (a gap in ``seq``), a reordered or
duplicated record, a line that is not a record, and a record of another run mixed in. A line that is not
JSON is a write cut short, not an edit, when it is the file's last line and has no newline, or when the
record after it links straight to the record before it (the writer continued after a crash).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bastidor.audit.canonical import ZERO_HASH, record_hash
from bastidor.audit.verdicts import AuditProblem

REQUIRED_KEYS = ("run_id", "seq", "event", "prev_hash", "hash")


@dataclass(frozen=True)
class Record:
    """One audit record and the line it is on."""

    line: int
    data: dict[str, Any]

    @property
    def seq(self) -> int:
        """The record's sequence number."""
        return self.data["seq"]

    @property
    def event(self) -> Any:
        """The record's event name."""
        return self.data["event"]

    @property
    def where(self) -> str:
        """``line N (seq S)``, for messages."""
        return f"line {self.line} (seq {self.seq})"


@dataclass(frozen=True)
class Damaged:
    """A line that is not an audit record; `unparsable` when it is not even JSON (maybe a torn write)."""

    line: int
    message: str
    unparsable: bool = False


@dataclass
class Chain:
    """What the walk found: the records that follow each other in order, and the problems."""

    run_id: str | None = None
    records: int = 0
    in_order: list[Record] = field(default_factory=list)
    problems: list[AuditProblem] = field(default_factory=list)


def read_chain(data: bytes) -> Chain:
    """Parse the log's bytes and walk its chain."""
    raw_lines = data.split(b"\n")
    ends_with_newline = raw_lines[-1] == b""
    if ends_with_newline:
        raw_lines.pop()
    entries = [_parse_line(number, raw) for number, raw in enumerate(raw_lines, start=1)]
    walker = _ChainWalker(entries)
    walker.walk()
    walker.finish(cut_short=bool(raw_lines) and not ends_with_newline)
    return walker.chain


def _parse_line(number: int, raw: bytes) -> Record | Damaged:
    if not raw.strip():
        return Damaged(number, f"line {number} is empty: the log was edited")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        reason = getattr(error, "msg", None) or "not valid UTF-8"
        return Damaged(number, f"line {number} is not a JSON record ({reason}): it was edited or damaged", True)
    if not isinstance(data, dict):
        return Damaged(number, f"line {number} is not a JSON object: it is not an audit record")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        return Damaged(number, f"line {number} lacks {', '.join(missing)}: it is not an audit record")
    if isinstance(data["seq"], bool) or not isinstance(data["seq"], int):
        return Damaged(number, f"line {number} has a seq that is not a whole number: it was edited")
    return Record(number, data)


class _ChainWalker:
    """Follows ``seq`` and ``prev_hash`` from record to record, noting each break."""

    def __init__(self, entries: list[Record | Damaged]) -> None:
        self.entries = entries
        self.chain = Chain(run_id=next((e.data["run_id"] for e in entries if isinstance(e, Record)), None))
        self.prev: Record | None = None
        self.seen: dict[int, int] = {}
        self.damaged: list[Damaged] = []
        self.lost_near: list[int] = []

    def walk(self) -> None:
        """Check every line in file order."""
        for index, entry in enumerate(self.entries):
            if isinstance(entry, Damaged):
                self.damaged.append(entry)
            elif entry.data["run_id"] != self.chain.run_id:
                self._settle_damaged(torn=False)
                self._problem(entry.line, entry.seq, f"{entry.where}: record belongs to run "
                              f"{entry.data['run_id']}, not run {self.chain.run_id}: a record from another run "
                              "was mixed in")
            else:
                self._check(index, entry)

    def finish(self, cut_short: bool) -> None:
        """Settle damaged lines at the end: a last line without its newline is a write cut short."""
        last = self.damaged[-1] if self.damaged else None
        if cut_short and last is not None and last.unparsable and last.line == len(self.entries):
            self.damaged.pop()
            self._settle_damaged(torn=False)
            self._problem(last.line, None, f"log cut short at line {last.line}: its last write was cut off (a full "
                          "disk, or the process died while writing); the records before it are intact",
                          severity="warning")
        self._settle_damaged(torn=False)

    def _check(self, index: int, record: Record) -> None:
        self.chain.records += 1
        links = self._links_to_prev(record)
        self._settle_damaged(torn=links)
        if record_hash(record.data) != record.data["hash"]:
            self._problem(record.line, record.seq, f"{record.where}: record was edited: its hash does not match "
                          "its content")
        if self._in_order(index, record):
            self.seen.setdefault(record.seq, record.line)
            self.prev = record
            self.chain.in_order.append(record)

    def _links_to_prev(self, record: Record) -> bool:
        prev_seq = self.prev.seq if self.prev else 0
        expected = self.prev.data["hash"] if self.prev else ZERO_HASH
        return record.seq == prev_seq + 1 and record.data["prev_hash"] == expected

    def _settle_damaged(self, torn: bool) -> None:
        for entry in self.damaged:
            if torn and entry.unparsable:
                self._problem(entry.line, None, f"line {entry.line} holds a write that was cut short (the writer "
                              "stopped mid-record and carried on after it); the record after it links to the one "
                              "before, so no record is missing", severity="warning")
            else:
                self._problem(entry.line, None, entry.message)
        self.lost_near = [entry.line for entry in self.damaged if not (torn and entry.unparsable)]
        self.damaged = []

    def _in_order(self, index: int, record: Record) -> bool:
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

    def _check_link(self, record: Record) -> None:
        expected = self.prev.data["hash"] if self.prev else ZERO_HASH
        if record.data["prev_hash"] == expected:
            return
        before = f"the record before it ({self.prev.where})" if self.prev else "the start of the log (64 zeros)"
        self._problem(record.line, record.seq, f"{record.where}: prev_hash does not match {before}: a record was "
                      "replaced or inserted there")

    def _gap(self, index: int, record: Record, prev_seq: int) -> None:
        first_missing = prev_seq + 1
        missing, verb = _seq_range(first_missing, record.seq - 1)
        moved_to = self._later_line_of(first_missing, index)
        if prev_seq:
            lead, where = f"line {record.line}: seq {record.seq} follows seq {prev_seq}", ""
        else:
            lead, where = f"line {record.line}: the log starts at seq {record.seq}", " from the start"
        if moved_to is not None:
            tail = f"record seq {first_missing} was moved (it is at line {moved_to}): records were reordered"
        elif self.lost_near:
            tail = f"{missing} {verb} lost (see the damaged line {', '.join(map(str, self.lost_near))})"
        else:
            tail = f"{missing} {verb} removed{where}"
        self._problem(record.line, record.seq, f"{lead}: {tail}")

    def _later_line_of(self, seq: int, index: int) -> int | None:
        for entry in self.entries[index + 1:]:
            if isinstance(entry, Record) and entry.seq == seq and entry.data["run_id"] == self.chain.run_id:
                return entry.line
        return None

    def _problem(self, line: int | None, seq: int | None, message: str, severity: str = "error") -> None:
        self.chain.problems.append(AuditProblem(line, seq, message, severity))


def _seq_range(first: int, last: int) -> tuple[str, str]:
    return (f"record seq {first}", "was") if first == last else (f"records seq {first}-{last}", "were")
