"""Is this write already stored? Asked before a write is sent again after its connection was lost.

A connection lost while COMMIT was on its way leaves the writer not knowing whether the database kept
the change. Sending it again must neither store it twice nor fail it as a duplicate of itself, and must
never report success for a different row: a run, a batch of steps or a run's ending counts as already
written only when what is stored is exactly what was to be written.
"""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass, replace
from datetime import datetime, timezone
from typing import Any, Sequence, TypeVar

from sqlalchemy import Connection, select

from bastidor.audit.canonical import to_jsonable
from bastidor.store.records import RunRecord, StepRecord
from bastidor.store.schema import runs, steps

R = TypeVar("R")


def run_is_stored(connection: Connection, run: RunRecord) -> bool:
    """True when the run is stored exactly as `run` (the first try committed)."""
    row = connection.execute(select(runs).where(runs.c.run_id == run.run_id)).mappings().first()
    return row is not None and RunRecord(**row) == as_stored(run)


def steps_are_stored(connection: Connection, records: Sequence[StepRecord]) -> bool:
    """True when every step of `records` is stored exactly as given (the first try committed)."""
    run_id = records[0].run_id
    query = select(steps).where(steps.c.run_id == run_id, steps.c.seq.in_([step.seq for step in records]))
    stored = {row["seq"]: StepRecord(**row) for row in connection.execute(query).mappings()}
    return all(stored.get(step.seq) == as_stored(step) for step in records)


def run_was_ended(connection: Connection, run_id: str, status: str, reason: str | None, ended_at: datetime) -> bool:
    """True when the run already ended with this status, reason and time (the first try committed)."""
    query = select(runs.c.status, runs.c.error, runs.c.ended_at).where(runs.c.run_id == run_id)
    row = connection.execute(query).first()
    return row is not None and tuple(row) == (status, reason, _utc(ended_at))


def as_stored(record: R) -> R:
    """`record` as the store reads it back: JSON values as JSON gives them, times as aware UTC."""
    assert is_dataclass(record)
    changes: dict[str, Any] = {}
    for field in fields(record):
        value = getattr(record, field.name)
        if isinstance(value, datetime):
            changes[field.name] = _utc(value)
        elif isinstance(value, dict):
            changes[field.name] = json.loads(json.dumps(to_jsonable(value), ensure_ascii=False))
    return replace(record, **changes)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
