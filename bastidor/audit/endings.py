"""How an audit log must end, by its kind (see `bastidor.audit.kinds`).

A run or service log that finished ends with ``run.finished`` and then the checkpoint that closes it;
anything after that was added later. One that stops before ``run.finished`` was written by a process that
stopped early (killed, crashed, or still running): that is "incomplete", not tampering, as long as what is
there is intact. (A log written without a signing key, which says so, ends with ``run.finished``
alone.) A journal never ends. The run store's last hash (kept in the same home, so it only adds
a check for logs whose store was left alone) must be the hash the log ends with.
"""

from __future__ import annotations

from bastidor.audit.chain import Record
from bastidor.audit.kinds import CHECKPOINT_EVENT, LogKind
from bastidor.audit.verdicts import VerifyResult

EMPTY_LOG = ("the log is empty: the process that opened it wrote no record (the disk was full, or it was "
             "stopped at once)")


def check_ending(result: VerifyResult, records: list[Record], kind: LogKind, expected_last_hash: str | None) -> None:
    """Check how the log ends, and note on `result` whether it ended the way its kind ends."""
    if not records:
        if not result.problems:  # as much evidence as a missing log: it proves nothing, and hides nothing more
            _note(result, None, None, EMPTY_LOG, "warning")
        return
    last = max(records, key=lambda record: record.seq)
    result.last_hash = str(last.data["hash"])
    if expected_last_hash is not None and result.last_hash != expected_last_hash:
        _note(result, last.line, last.seq, f"log ends at seq {last.seq} with hash {result.last_hash[:16]}, but the run "
                   f"store recorded {expected_last_hash[:16]}: records were removed from the end or the log was "
                   "rewritten")
    if kind.open_ended:
        result.ended = True
        return
    _check_end_event(result, records, kind.end_event)


def _check_end_event(result: VerifyResult, records: list[Record], end_event: str | None) -> None:
    end = next((index for index, record in enumerate(records) if record.event == end_event), None)
    if end is None:
        last = records[-1]
        _note(result, last.line, last.seq, f"log ends at seq {last.seq} without {end_event}: the process that wrote "
                   "it stopped before the end (killed, crashed, or still running), or records after its last "
                   "signature were cut off", "warning")
        return
    after = records[end + 1:]
    closing = after[:1] if after and after[0].event == CHECKPOINT_EVENT else []
    added = after[len(closing):]
    if added:
        _note(result, added[0].line, added[0].seq, f"{added[0].where}: {len(added)} record{'s' * (len(added) != 1)} "
                   f"follow the end of the log ({end_event} at line {records[end].line}): they were added after "
                   "the log was closed")
    elif not closing and result.unsigned_reason is not None:
        result.ended = True  # a log written without a key cannot close with a checkpoint; it said why
    elif not closing:
        _note(result, records[end].line, records[end].seq, f"{records[end].where}: the log ends with {end_event} "
                   "but without the checkpoint that closes it: the process stopped before it closed the log",
                   "warning")
    else:
        result.ended = True


def _note(result: VerifyResult, line: int | None, seq: int | None, message: str, severity: str = "error") -> None:
    result.add(line, seq, message, severity, area="end")
