"""What the run store keeps: one `RunRecord` per run, its `ItemRecord`s and its `StepRecord`s.

Times are timezone-aware UTC datetimes. ``inputs`` and ``data`` are plain dicts that the caller has
already masked (see `bastidor.audit.SecretMasker`); the store never sees a secret value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

RunStatus = Literal["running", "succeeded", "failed", "crashed", "interrupted"]
"""``failed`` is the flow's fault (a step or rule failed); ``crashed`` is the infrastructure's fault;
``interrupted`` means the run was stopped before its end (Ctrl-C, SIGTERM, a draining service, a time
limit): what it did not do is left to do, never counted as done."""

ItemStatus = Literal["in_progress", "successful", "failed", "postponed", "interrupted"]

RUN_STATUSES: tuple[str, ...] = ("running", "succeeded", "failed", "crashed", "interrupted")
ITEM_STATUSES: tuple[str, ...] = ("in_progress", "successful", "failed", "postponed", "interrupted")


def utc_now() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(timezone.utc)


@dataclass
class RunRecord:
    """One run of one flow: what ran, when, with which inputs, how it ended, and where its evidence is."""

    run_id: str
    flow_name: str
    flow_path: str
    flow_sha256: str
    status: RunStatus = "running"
    started_at: datetime = field(default_factory=utc_now)
    ended_at: datetime | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    audit_path: str | None = None
    report_path: str | None = None
    items_total: int = 0
    items_succeeded: int = 0
    items_failed: int = 0
    error: str | None = None
    host: str | None = None
    user: str | None = None
    audit_last_hash: str | None = None
    """The audit log's last ``hash`` when the run ended: lets the verifier detect a shortened log."""
    pid: int | None = None
    """The process that ran it on `host`: a run still ``running`` whose process is gone is ended as crashed."""


@dataclass
class ItemRecord:
    """One work item of a run (an order, a row): its state, why it failed, and its data (masked)."""

    run_id: str
    item_ref: str
    status: ItemStatus = "in_progress"
    reason: str | None = None
    attempts: int = 1
    started_at: datetime = field(default_factory=utc_now)
    ended_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)
    exception: str | None = None
    """For a failed item: ``"business"`` (a rule of the process said no; a person must look) or
    ``"application"`` (the site or the bot failed; retrying may help)."""


@dataclass
class StepRecord:
    """One executed (or not run) step, numbered by ``seq`` within its run, with where the flow defines it."""

    run_id: str
    seq: int
    path: str
    status: str
    """``passed``, ``failed``, ``business_exception``, ``not_run`` or ``crashed`` (the audit ``outcome``)."""
    parent_path: str | None = None
    name: str | None = None
    action: str | None = None
    target: str | None = None
    item_ref: str | None = None
    attempt: int = 1
    started_at: datetime = field(default_factory=utc_now)
    duration_ms: int | None = None
    error: str | None = None
    screenshot: str | None = None
    screenshot_sha256: str | None = None
    line: str | None = None
    """Where the flow defines the step, e.g. ``"flows/orders.yaml:12"``."""
    error_detail: str | None = None
    """The browser's own message and call log for a failed browser step (masked), kept for the report."""
