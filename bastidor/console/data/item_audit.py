"""One item's records in a run's audit log: its attempts, the steps of each, and the values it submitted.

The audit log is the evidence of what a bot typed and chose. Its ``step`` records hold the step's
``params`` as written and the ``values`` it used, both masked when written, so nothing read here can
hold a secret. Only lines naming the item are parsed, so a long log is read quickly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bastidor.audit.reading import read_records

SUBMITTED_FIELDS: dict[str, tuple[str, ...]] = {
    "fill": ("value",), "type": ("text_to_type", "keys"), "select": ("option",), "upload": ("file",),
    "press": ("key",), "check": (), "uncheck": (),
}
"""Browser steps that put a value into the portal, and where their value is in the step record."""

ITEM_EVENTS = ("item.started", "item.finished", "step")


@dataclass
class SubmittedValue:
    """A value a step put into the portal: which step, on which element, what value, and whether it worked."""

    step: str
    action: str
    target: str | None
    value: str
    outcome: str


@dataclass
class AuditAttempt:
    """One attempt at the item as the audit log tells it: when it started, how it ended, and its steps."""

    attempt: int
    started_at: str | None = None
    ended_at: str | None = None
    status: str | None = None
    exception: str | None = None
    reason: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def submitted(self) -> list[SubmittedValue]:
        """The values this attempt put into the portal, in order."""
        return [value for value in map(submitted_value, self.steps) if value is not None]


def read_item_attempts(audit_path: str | Path | None, item_ref: str) -> list[AuditAttempt] | None:
    """The item's attempts in the audit log at `audit_path`, in order; None when the log cannot be read."""
    records = read_records(audit_path, containing='"item_ref":' + json.dumps(item_ref, ensure_ascii=False))
    if records is None:
        return None
    attempts: list[AuditAttempt] = []
    for record in records:
        _take(attempts, record, item_ref)
    return attempts


def submitted_value(record: dict[str, Any]) -> SubmittedValue | None:
    """What a ``step`` record put into the portal, None for steps that submit nothing (clicks, checks...)."""
    action = record.get("action")
    if action not in SUBMITTED_FIELDS:
        return None
    keys = SUBMITTED_FIELDS[action]
    if keys:
        value = _first_present(record.get("values"), keys)
        if value is None:
            value = _first_present(record.get("params"), keys)
        text = "" if value is None else str(value)
    else:
        text = "checked" if action == "check" else "unchecked"
    return SubmittedValue(step=str(record.get("step_name") or record.get("step_path") or ""), action=action,
                          target=record.get("target"), value=text, outcome=str(record.get("outcome") or ""))


def _take(attempts: list[AuditAttempt], record: dict[str, Any] | None, item_ref: str) -> None:
    if record is None or record.get("item_ref") != item_ref or record.get("event") not in ITEM_EVENTS:
        return
    event = record["event"]
    if event == "item.started" or not attempts:
        attempts.append(AuditAttempt(attempt=_int(record.get("attempt"), len(attempts) + 1),
                                     started_at=record.get("ts") if event == "item.started" else None))
    current = attempts[-1]
    if event == "step":
        current.steps.append(record)
    elif event == "item.finished":
        current.status, current.exception = record.get("status"), record.get("exception")
        current.reason, current.ended_at = record.get("reason"), record.get("ts")


def _first_present(mapping: Any, keys: tuple[str, ...]) -> Any:
    if not isinstance(mapping, dict):
        return None
    return next((mapping[key] for key in keys if mapping.get(key) is not None), None)


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
