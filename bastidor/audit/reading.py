"""Reading an audit log's records back, for pages and reports (checking the chain is `verify.py`'s job)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_records(path: str | Path | None, containing: str | None = None) -> list[dict[str, Any]] | None:
    """The log's records in order, skipping lines that are not JSON objects; with `containing`, only the
    lines holding that text (a cheap filter before parsing). None when there is no log or it cannot be read."""
    if not path:
        return None
    records: list[dict[str, Any]] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if containing is None or containing in line:
                    record = _parse(line)
                    if record is not None:
                        records.append(record)
    except OSError:
        return None
    return records


def _parse(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
