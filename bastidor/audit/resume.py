"""Continuing an existing audit log: find where its hash chain ends so new records link to it."""

from __future__ import annotations

import json
from pathlib import Path

from bastidor.audit.canonical import ZERO_HASH
from bastidor.audit.errors import AuditWriteError


def find_resume_point(path: Path, run_id: str) -> tuple[int, str, bool]:
    """Return ``(last_seq, last_hash, ends_with_torn_line)`` for the log at `path`.

    A missing, empty or non-regular file (such as ``/dev/full``) starts a new chain. A last line without
    its newline (a write cut short by a crash) is left in place as evidence; the chain continues from the
    last complete record. Raises `AuditWriteError` when that record is unreadable or belongs to another run.
    """
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return 0, ZERO_HASH, False
        last_complete, torn = _last_lines(path)
    except OSError as error:
        raise AuditWriteError(
            f"Cannot read the existing audit log {path} to continue it: {error.strerror or error}."
        ) from error
    if last_complete is None:
        return 0, ZERO_HASH, torn
    seq, last_hash = _chain_end(path, last_complete, run_id)
    return seq, last_hash, torn


def _last_lines(path: Path) -> tuple[bytes | None, bool]:
    last_complete: bytes | None = None
    torn = False
    with open(path, "rb") as stream:
        for raw in stream:
            if raw.endswith(b"\n"):
                if raw.strip():
                    last_complete = raw
            else:
                torn = True
    return last_complete, torn


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
