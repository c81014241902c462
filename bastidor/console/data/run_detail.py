"""One run for the run page: its facts, a step timeline like Robot Framework's log (nested steps with
statuses, durations, parameters, errors and failure screenshots), its items, and its audit verdict.

    detail = load_run_detail(store, runs_dir, run_id)    # None when there is no such run
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bastidor.console.data.run_audit import AuditCheck, check_run_audit, step_details
from bastidor.report.tree import TreeNode, build_step_tree
from bastidor.store import ItemRecord, RunRecord, RunStore, StepRecord

SCREENSHOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.png$")
OPEN_STATUSES = frozenset({"failed", "business_exception", "crashed"})


@dataclass
class StepView:
    """One line of the timeline: a step, or a group (an iteration, a branch, a sub-flow) of steps."""

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

    @property
    def open(self) -> bool:
        """Shown expanded: failures, and every step or group around one, are open; the rest is folded."""
        return self.status in OPEN_STATUSES or any(child.open for child in self.children)


@dataclass
class RunDetail:
    """Everything the run page shows."""

    run: RunRecord
    timeline: list[StepView]
    items: list[ItemRecord]
    audit: AuditCheck
    step_counts: dict[str, int]

    @property
    def duration_ms(self) -> float | None:
        """How long the run took (None while it runs)."""
        if self.run.ended_at is None:
            return None
        return (self.run.ended_at - self.run.started_at).total_seconds() * 1000


def load_run_detail(store: RunStore, runs_dir: Path, run_id: str) -> RunDetail | None:
    """The run with exactly this id, ready to show; None when there is none."""
    run = store.get_run(run_id)
    if run is None or run.run_id != run_id:
        return None
    steps = store.list_steps(run.run_id)
    details = step_details(run.audit_path, steps)
    timeline = [_view(node, run.run_id, details) for node in build_step_tree(steps)]
    return RunDetail(run, timeline, store.list_items(run.run_id), check_run_audit(run),
                     dict(Counter(step.status for step in steps)))


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


def _view(node: TreeNode, run_id: str, details: dict[int, dict[str, Any]]) -> StepView:
    children = [_view(child, run_id, details) for child in node.children]
    step = node.step
    if step is None:
        durations = [child.duration_ms for child in children if child.duration_ms is not None]
        return StepView(node.label, node.path, node.status, duration_ms=sum(durations) if durations else None,
                        children=children, item_ref=_common_item(children))
    label = node.label or step.action or f"step {node.path}"
    return StepView(label, node.path, node.status, step, step.duration_ms, details.get(step.seq, {}),
                    screenshot_url(run_id, step), children, step.item_ref)


def _common_item(children: list[StepView]) -> str | None:
    refs = {child.item_ref for child in children}
    return refs.pop() if len(refs) == 1 else None
