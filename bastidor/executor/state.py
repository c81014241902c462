"""Everything one run owns: its id and folder, audit log, run store, secrets, bot and counters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from bastidor.audit import AuditLog, SecretMasker
from bastidor.flow.loader import Flow
from bastidor.store import RunStore


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


@dataclass
class Counters:
    """Running totals shown in the live progress and the summary."""

    items_total: int = 0
    items_succeeded: int = 0
    items_failed: int = 0
    steps: int = 0
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
    secret_targets: list[Any] = field(default_factory=list)
    step_seq: int = 0

    def next_step_seq(self) -> int:
        """A sequence number for the next step record in the run store."""
        self.step_seq += 1
        return self.step_seq
