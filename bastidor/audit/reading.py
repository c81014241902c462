"""Reading an audit log's records back, for pages and reports (checking the chain is `verify.py`'s job).

A run's log is ``<home>/runs/<run id>/audit.jsonl``. When that file is not on this machine (the run ran on
another one) and a shared database is set, its records are read from the database's copy instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def read_records(path: str | Path | None, containing: str | None = None) -> list[dict[str, Any]] | None:
    """The log's records in order, skipping lines that are not JSON objects; with `containing`, only the
    lines holding that text (a cheap filter before parsing). None when there is no log or it cannot be read."""
    if not path:
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as lines:
            return _records(lines, containing)
    except FileNotFoundError:
        lines = _shared_lines(Path(path).parent.name)
        return None if lines is None else _records(lines, containing)
    except OSError:
        return None


def _records(lines: Iterable[str], containing: str | None) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for line in lines:
        if containing is None or containing in line:
            record = _parse(line)
            if record is not None:
                records.append(record)
    return records


def _shared_lines(run_id: str) -> list[str] | None:
    """The run's log lines from the shared database, None when none is set, it has none, or it cannot be read."""
    from bastidor.database.places import DatabaseSettingError, database_url

    try:
        url = database_url()
    except DatabaseSettingError:
        return None
    if url is None or not run_id:
        return None
    from bastidor.audit.records_table import shared_log_bytes
    from bastidor.audit.shared_copy import SharedDatabaseUnavailable, shared_connection

    try:
        with shared_connection(url) as connection:
            data = shared_log_bytes(connection, run_id)
    except SharedDatabaseUnavailable:
        return None
    return None if data is None else data.decode("utf-8", errors="replace").splitlines()


def _parse(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
