"""A run's audit lines in the shared ``audit_records`` table: appended once, read back byte for byte.

A line is shipped only once it is whole (its newline written), so the table holds a prefix of the file;
line numbers are the file's, so a problem found in the table copy is named by the same line as in the file.

    lines = whole_lines(path.read_bytes())             # the file's complete lines, without newlines
    added = append_lines(connection, log_id, [(1, lines[0]), ...], host)    # the line numbers inserted
    data = shared_log_bytes(connection, log_id)        # the file as the table holds it, or None
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from bastidor.audit.tables import audit_records

_BATCH = 500


def whole_lines(data: bytes) -> list[bytes]:
    """The lines of `data` that end with a newline (without it); a last line still being written is left out."""
    lines = data.split(b"\n")
    lines.pop()  # after the last newline: empty, or a line not yet whole
    return lines


def record_facts(line: bytes) -> dict[str, Any]:
    """The ``record_hash``, ``seq`` and ``event`` columns of `line` (None for a line that is not a record)."""
    try:
        record = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        record = None
    if not isinstance(record, dict):
        return {"record_hash": None, "seq": None, "event": None}
    seq, digest, event = record.get("seq"), record.get("hash"), record.get("event")
    return {"record_hash": digest[:64] if isinstance(digest, str) else None,
            "seq": seq if isinstance(seq, int) and not isinstance(seq, bool) and abs(seq) < 2**31 else None,
            "event": event[:100] if isinstance(event, str) else None}


def log_id_of(lines: Iterable[bytes], default: str) -> str:
    """The log's id: the ``run_id`` of its first record (`default`, the run folder's name, if none is readable)."""
    for line in lines:
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("run_id"), str):
            return record["run_id"]
    return default


def shipped_lines(connection: Connection, log_id: str) -> dict[int, bytes]:
    """The lines of `log_id` already in the table, by line number."""
    rows = connection.execute(select(audit_records.c.line_no, audit_records.c.line)
                              .where(audit_records.c.log_id == log_id))
    return {number: bytes(line) for number, line in rows}


def append_lines(connection: Connection, log_id: str, lines: list[tuple[int, bytes]], host: str) -> set[int]:
    """Insert the (line number, line) pairs not already there; returns the line numbers this call inserted
    (a line another shipper inserted first is left as it is: compare it, see `bastidor.audit.shipping`)."""
    inserted: set[int] = set()
    for start in range(0, len(lines), _BATCH):
        rows = [{"log_id": log_id, "line_no": number, "line": line, "host": host, **record_facts(line)}
                for number, line in lines[start:start + _BATCH]]
        statement = (insert(audit_records).on_conflict_do_nothing(index_elements=["log_id", "line_no"])
                     .returning(audit_records.c.line_no))
        inserted.update(connection.execute(statement, rows).scalars())
    return inserted


def line_differences(log_id: str, shipped: dict[int, bytes], lines: list[bytes]) -> list[str]:
    """Where the `shipped` lines (by number) differ from the file's whole `lines`: each a tampering, on one side."""
    problems = [f"line {number} of the audit log of run {log_id} differs from the copy in the shared database: "
                "one of them was edited after it was shipped" for number, line in sorted(shipped.items())
                if number <= len(lines) and lines[number - 1] != line]
    gaps = [number for number in range(1, max(shipped, default=0)) if number not in shipped]
    if gaps:
        problems.append(f"line{'s' * (len(gaps) > 1)} {', '.join(map(str, gaps[:10]))} of the audit log of run "
                        f"{log_id} {'are' if len(gaps) > 1 else 'is'} missing from the copy in the shared database, "
                        "though later lines are there: removed from it")
    beyond = sorted(number for number in shipped if number > len(lines))
    if beyond:
        problems.append(f"the shared database holds lines {beyond[0]}-{beyond[-1]} of the audit log of run {log_id} "
                        "that the local file does not have: the local file was cut back")
    return problems


def shared_log_bytes(connection: Connection, log_id: str) -> bytes | None:
    """The log as the table holds it, one line per row in line order, each ending with a newline; a line
    number with no row (removed behind the trigger's back) becomes an empty line, so later lines keep their
    numbers and the verifier names the gap. None when the table has no line of `log_id`."""
    rows = connection.execute(select(audit_records.c.line_no, audit_records.c.line)
                              .where(audit_records.c.log_id == log_id).order_by(audit_records.c.line_no)).all()
    if not rows:
        return None
    by_number = {number: bytes(line) for number, line in rows}
    last = max(by_number)
    return b"".join(by_number.get(number, b"") + b"\n" for number in range(1, last + 1))


def shipped_sizes(connection: Connection, log_ids: list[str]) -> dict[str, int]:
    """For each of `log_ids` in the table: how many bytes of its file the table holds (lines and newlines)."""
    sizes: dict[str, int] = {}
    for start in range(0, len(log_ids), _BATCH):
        chunk = log_ids[start:start + _BATCH]
        query = (select(audit_records.c.log_id, func.sum(func.octet_length(audit_records.c.line) + 1))
                 .where(audit_records.c.log_id.in_(chunk)).group_by(audit_records.c.log_id))
        sizes.update({log_id: int(total) for log_id, total in connection.execute(query)})
    return sizes
