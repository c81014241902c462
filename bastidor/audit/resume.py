"""Continuing an existing audit log: find where its hash chain ends so new records link to it.

Journals (the console's log, the triggers log) are opened again for every record, so this also finds what
the checkpoints need to carry on: the log's identity (its first record's hash), how many records were
written since its last checkpoint and when that was, and whether it last said it was going unsigned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bastidor.audit.canonical import ZERO_HASH
from bastidor.audit.errors import AuditWriteError

_CHECKPOINT_MARK = b'"event":"audit.checkpoint"'
_UNSIGNED_MARK = b'"event":"audit.unsigned"'


@dataclass(frozen=True)
class ResumePoint:
    """Where an existing log's chain ends, and the state its checkpoints carry on from."""

    last_seq: int = 0
    last_hash: str = ZERO_HASH
    torn: bool = False
    first_hash: str | None = None
    since_checkpoint: int = 0
    last_sealed_at: float | None = None
    unsigned_reason: str | None = None
    sealed: bool = False


def find_resume_point(path: Path, run_id: str) -> ResumePoint:
    """Return where the log at `path` ends (a fresh `ResumePoint` when it is missing or empty).

    A missing, empty or non-regular file (such as ``/dev/full``) starts a new chain. A last line without
    its newline (a write cut short by a crash) is left in place as evidence; the chain continues from the
    last complete record. Raises `AuditWriteError` when that record is unreadable or belongs to another run.
    """
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return ResumePoint()
        scan = _scan(path)
    except OSError as error:
        raise AuditWriteError(
            f"Cannot read the existing audit log {path} to continue it: {error.strerror or error}."
        ) from error
    if scan.last is None:
        return ResumePoint(torn=scan.torn)
    seq, last_hash = _chain_end(path, scan.last, run_id)
    return ResumePoint(seq, last_hash, scan.torn, _field(scan.first, "hash"), scan.since_checkpoint,
                       _time_of(scan.checkpoint or scan.first), _unsigned_reason(scan), scan.checkpoint is not None)


class _Scan:
    """One pass over the file's complete lines, keeping only what resuming needs."""

    def __init__(self) -> None:
        self.first: bytes | None = None
        self.last: bytes | None = None
        self.checkpoint: bytes | None = None
        self.unsigned: bytes | None = None
        self.unsigned_after_checkpoint = False
        self.since_checkpoint = 0
        self.torn = False

    def add(self, raw: bytes) -> None:
        if not raw.endswith(b"\n"):
            self.torn = True
            return
        if not raw.strip():
            return
        if self.first is None and _field(raw, "hash") is not None:  # skips a torn first line
            self.first = raw
        self.last = raw
        self.since_checkpoint += 1
        if _CHECKPOINT_MARK in raw:
            self.checkpoint, self.since_checkpoint, self.unsigned_after_checkpoint = raw, 0, False
        elif _UNSIGNED_MARK in raw:
            self.unsigned, self.unsigned_after_checkpoint = raw, True


def _scan(path: Path) -> _Scan:
    scan = _Scan()
    with open(path, "rb") as stream:
        for raw in stream:
            scan.add(raw)
    return scan


def _chain_end(path: Path, line: bytes, run_id: str) -> tuple[int, str]:
    try:
        record = json.loads(line)
        seq, last_hash, owner = record["seq"], record["hash"], record["run_id"]
    except (ValueError, TypeError, KeyError) as error:
        raise AuditWriteError(
            f"Cannot continue the audit log {path}: its last record is unreadable ({error}). "
            "Run `bastidor audit verify` on it and start the run with a new log."
        ) from error
    if owner != run_id:
        raise AuditWriteError(
            f"Cannot continue the audit log {path}: it belongs to run {owner}, not {run_id}. "
            "Each run needs its own audit log file."
        )
    return int(seq), str(last_hash)


def _field(line: bytes | None, name: str) -> str | None:
    try:
        value = json.loads(line)[name] if line else None
    except (ValueError, TypeError, KeyError):
        return None
    return value if isinstance(value, str) else None


def _time_of(line: bytes | None) -> float | None:
    text = _field(line, "ts")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None
    except ValueError:
        return None


def _unsigned_reason(scan: _Scan) -> str | None:
    if not scan.unsigned_after_checkpoint:
        return None
    return _field(scan.unsigned, "reason") or "unknown"
