"""Everything one run owns: its id and folder, audit log, run store, secrets, bot and counters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from bastidor.audit import AuditLog, SecretMasker
from bastidor.flow.loader import Flow
from bastidor.store import RunStore


STEP_BATCH = 200


@dataclass
class ItemState:
    """The work item being processed: its reference, attempt and outcome."""

    ref: str
    index: int
    data: dict[str, Any]
    attempt: int = 1
    status: str = "in_progress"
    reason: str | None = None
    exception: str | None = None
    postponement: Any = None
    """The `ItemPostponed` a postponed item stopped with: until when, and why."""


@dataclass
class Counters:
    """Running totals shown in the live progress and the summary."""

    items_total: int = 0
    items_succeeded: int = 0
    items_failed: int = 0
    items_postponed: int = 0
    items_interrupted: int = 0
    already_processed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class RunState:
    """The resources of one run, shared by every step of the flow and its sub-flows."""

    run_id: str
    flow: Flow
    run_dir: Path
    audit: AuditLog
    store: RunStore
    masker: SecretMasker
    secrets: dict[str, str]
    today: dt.date
    browser: Any
    progress: Any
    counters: Counters = field(default_factory=Counters)
    sleep: Callable[[float], None] | None = None
    service: Any = None
    secret_targets: list[Any] = field(default_factory=list)
    step_seq: int = 0
    pending_steps: list[Any] = field(default_factory=list)

    def next_step_seq(self) -> int:
        """A sequence number for the next step record in the run store."""
        self.step_seq += 1
        return self.step_seq

    def record_step(self, step: Any) -> None:
        """Queue a step record for the run store. The audit log already holds the step durably,
        so the store is written in batches: at each item's end, at the run's end, or every 200."""
        self.pending_steps.append(step)
        if len(self.pending_steps) >= STEP_BATCH:
            self.flush_steps()

    def flush_steps(self) -> None:
        """Write the queued step records to the run store."""
        if self.pending_steps:
            batch, self.pending_steps = self.pending_steps, []
            self.store.add_steps(batch)
