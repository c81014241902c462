"""One run for the run page: its facts, what went wrong first, a step timeline like Robot Framework's log
(nested steps with statuses, attempts, durations, parameters, values recorded, errors and failure
screenshots), its items, and its audit verdict.

    detail = load_run_detail(store, runs_dir, run_id)    # None when there is no such run
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bastidor.console.data.run_audit import AuditCheck, check_run_audit
from bastidor.report.node import TreeNode
from bastidor.report.overview import COUNT_WORDS, Failure, RunOverview, load_run_overview
from bastidor.store import ItemRecord, RunRecord, RunStore, StepRecord

SCREENSHOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.png$")
OPEN_STATUSES = frozenset({"failed", "business_exception", "crashed", "interrupted", "running"})


@dataclass
class StepView:
    """One line of the timeline: a step, an attempt of a retried step or item, a work item, or a group (an
    iteration, a branch, a sub-flow) of steps."""

    label: str
    path: str
    status: str
    step: StepRecord | None = None
    duration_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    screenshot_url: str | None = None
    children: list[StepView] = field(default_factory=list)
    item_ref: str | None = None
    """For a group: the work item all its steps belong to (an iteration of a for_each_item), if one."""
    kind: str = "step"
    note: str | None = None
    """How it went, in words: "passed on attempt 3 of 10", "application exception: ...", an attempt's error."""
    value: str | None = None
    """What the step recorded, in a few words: a value read, a message logged, a value compared."""
    error: str | None = None

    @property
    def open(self) -> bool:
        """Shown expanded: what did not pass, and every step or group around it, are open; a step that passed
        on a later attempt, and the rest, are folded."""
        return self.status in OPEN_STATUSES


@dataclass
class RunDetail:
    """Everything the run page shows."""

    run: RunRecord
    timeline: list[StepView]
    items: list[ItemRecord]
    audit: AuditCheck
    step_counts: dict[str, int]
    failures: list[Failure] = field(default_factory=list)
    overview: RunOverview | None = None

    @property
    def duration_ms(self) -> float | None:
        """How long the run took (None while it runs)."""
        if self.run.ended_at is None:
            return None
        return (self.run.ended_at - self.run.started_at).total_seconds() * 1000

    def failure_screenshot(self, failure: Failure) -> str | None:
        """Where the console serves the screenshot of the step a failure happened at, if it has one."""
        return screenshot_url(self.run.run_id, failure.step) if failure.step is not None else None

    @property
    def count_words(self) -> list[tuple[str, int, str]]:
        """The step counts as (status, count, words), "failed then recovered" apart from "failed"."""
        return [(status, count, COUNT_WORDS.get(status, status)) for status, count in self.step_counts.items()]


def load_run_detail(store: RunStore, runs_dir: Path, run_id: str) -> RunDetail | None:
    """The run with exactly this id, ready to show; None when there is none."""
    run = store.get_run(run_id)
    if run is None or run.run_id != run_id:
        return None
    overview = load_run_overview(store, run)
    timeline = [_view(node, run.run_id) for node in overview.tree]
    return RunDetail(run, timeline, overview.items, check_run_audit(run), overview.counts, overview.failures,
                     overview)


def screenshot_file(store: RunStore, runs_dir: Path, run_id: str, name: str) -> Path | None:
    """The failure screenshot `name` of run `run_id`, only when a step of that run recorded it and the file
    (links followed) is in that run's screenshots folder under `runs_dir`; None otherwise."""
    if not SCREENSHOT_NAME.match(name):
        return None
    run = store.get_run(run_id)
    if run is None or run.run_id != run_id:
        return None
    if not any(_screenshot_name(step) == name for step in store.list_steps(run_id)):
        return None
    folder = (runs_dir / run_id / "screenshots").resolve()
    path = (folder / name).resolve()
    inside = folder.is_relative_to(runs_dir.resolve()) and path.is_relative_to(folder)
    return path if inside and path.is_file() else None


def screenshot_url(run_id: str, step: StepRecord) -> str | None:
    """Where the console serves a step's failure screenshot, if it has one."""
    name = _screenshot_name(step)
    return f"/runs/{quote(run_id, safe='')}/screenshots/{quote(name)}" if name else None


def _screenshot_name(step: StepRecord) -> str | None:
    if not step.screenshot:
        return None
    name = Path(step.screenshot).name
    return name if SCREENSHOT_NAME.match(name) else None


def _view(node: TreeNode, run_id: str) -> StepView:
    children = [_view(child, run_id) for child in node.children]
    step = node.step
    shown = step if step is not None and (node.kind == "attempt" or not node.attempts) else None
    durations = [child.duration_ms for child in children if child.duration_ms is not None]
    duration = step.duration_ms if step is not None and node.kind in ("step", "attempt") else \
        (sum(durations) if durations else None)
    return StepView(node.label, node.path, node.status, step, duration, dict(node.details),
                    screenshot_url(run_id, shown) if shown is not None else None, children,
                    node.item_ref or _common_item(children), node.kind, node.note, node.value, node.own_error)


def _common_item(children: list[StepView]) -> str | None:
    refs = {child.item_ref for child in children}
    return refs.pop() if len(refs) == 1 else None
