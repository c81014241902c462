"""One run as a supervisor reads it, shared by `runs show`, the end-of-run summary, the HTML report and the
console: its step tree (attempts folded, values recorded), its items, what went wrong first, and step
counts in which a step that failed and then passed on a later attempt is "failed then recovered", not
"failed".

    overview = load_run_overview(store, run)
    overview.failures[0].message, overview.count_words()    # "Out of stock ...", "190 passed, 1 ..."
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from bastidor.report.attempt_limits import AttemptLimits
from bastidor.report.audit_details import step_details
from bastidor.report.node import FAILING, TreeNode, exception_words
from bastidor.report.step_values import AUDITED_ACTIONS, is_plain_log_title, logged_message
from bastidor.report.tree import build_step_tree, walk_final

COUNT_WORDS = {"passed": "passed", "recovered": "failed then recovered", "failed": "failed",
               "business_exception": "business exception", "crashed": "crashed", "interrupted": "interrupted",
               "postponed": "postponed", "not_run": "not run"}
"""Step outcomes in the order the counts are shown, and their words."""


@dataclass
class Failure:
    """One thing that went wrong, for the top of a report: a failed item (with its exception kind and
    reason) or a step that failed outside any item, and the step where it happened."""

    message: str
    kind: str
    """"business exception", "application exception", "failed", "crashed" or "interrupted"."""
    item_ref: str | None = None
    node: TreeNode | None = None
    """The deepest step that failed (it holds the error and the failure screenshot), when known."""

    @property
    def step(self) -> Any:
        """The failing step's record, or None."""
        return self.node.step if self.node is not None else None


@dataclass(frozen=True)
class RecordedValue:
    """A value a step recorded, for the list an auditor reads: a message logged, a value read from the
    page, a value compared or computed."""

    path: str
    item_ref: str | None
    step: str
    value: str


@dataclass
class RunOverview:
    """A run, its items and step tree, its step counts and its failures, ready to show."""

    run: Any
    items: list[Any]
    tree: list[TreeNode]
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def count_words(self) -> str:
        """The step counts in words: "190 passed, 1 failed then recovered, 14 not run"."""
        return ", ".join(f"{count} {COUNT_WORDS.get(status, status)}" for status, count in self.counts.items())

    def item_words(self) -> str:
        """The item counts in words, failures by kind: "12 total, 11 succeeded, 1 failed (1 business exception)"."""
        run = self.run
        kinds: dict[str, int] = {}
        for item in self.items:
            if item.status == "failed":
                kinds[exception_words(item)] = kinds.get(exception_words(item), 0) + 1
        split = f" ({', '.join(f'{n} {words}' for words, n in sorted(kinds.items()))})" if kinds else ""
        others = [f"{sum(1 for item in self.items if item.status == status)} {status}"
                  for status in ("postponed", "interrupted") if any(item.status == status for item in self.items)]
        return (f"{run.items_total} total, {run.items_succeeded} succeeded, {run.items_failed} failed{split}"
                + "".join(f", {words}" for words in others))


    def recorded_values(self) -> list[RecordedValue]:
        """Every value the steps recorded, in the order they ran (earlier attempts left out)."""
        found: list[RecordedValue] = []
        for node in walk_final(self.tree):
            if node.kind != "step" or node.step is None or node.step.action not in AUDITED_ACTIONS:
                continue
            step = node.step
            message = logged_message(node.details) if step.action == "log" else None
            text = f"logged: {message}" if message is not None else node.value
            plain_log = message is not None and is_plain_log_title(step.name, node.details)
            if text:
                found.append(RecordedValue(node.path, step.item_ref, "log" if plain_log else step.name or step.action,
                                           text))
        return found


def load_run_overview(store: Any, run: Any, *, with_details: bool = True) -> RunOverview:
    """The overview of `run` from the run store, with the values its audit log recorded (unless
    `with_details` is False) and the attempt limits of its flow file."""
    steps = store.list_steps(run.run_id)
    items = store.list_items(run.run_id)
    details = step_details(run.audit_path, steps) if with_details else {}
    tree = build_step_tree(steps, items=items, details=details, limits=AttemptLimits.of_run(run))
    return RunOverview(run, items, tree, step_counts(tree), find_failures(tree, items, run))


def step_counts(tree: list[TreeNode]) -> dict[str, int]:
    """How each step finally ended, in `COUNT_WORDS` order; a step that passed after failed attempts is
    counted as ``recovered``. Steps inside earlier attempts are not counted."""
    counts: dict[str, int] = {}
    for node in walk_final(tree):
        if node.step is None or node.kind != "step":
            continue
        outcome = node.step.status
        if outcome == "passed" and any(attempt.status != "passed" for attempt in node.attempts):
            outcome = "recovered"
        counts[outcome] = counts.get(outcome, 0) + 1
    return {status: counts[status] for status in [*COUNT_WORDS, *sorted(counts)] if status in counts}


def find_failures(tree: list[TreeNode], items: Iterable[Any], run: Any = None) -> list[Failure]:
    """What went wrong, in the order it happened: each item that failed or was interrupted, and each step
    that failed outside the items; the run's own error when nothing else explains it."""
    by_ref = {node.item_ref: node for node in walk_final(tree) if node.kind == "item"}
    failures: list[Failure] = []
    for item in items:
        if item.status in ("failed", "interrupted"):
            node = by_ref.get(item.item_ref)
            failures.append(Failure(item.reason or exception_words(item), exception_words(item), item.item_ref,
                                    _deepest_failure(node.final.children) if node is not None else None))
    failures += [Failure(_error(node), node.step.status.replace("_", " "), node=node)
                 for node in _failing_outside_items(tree)]
    if not failures and run is not None and run.error and run.status != "succeeded":
        failures.append(Failure(run.error, run.status))
    return failures


def _error(node: TreeNode) -> str:
    return node.step.error or f"the step ended {node.step.status.replace('_', ' ')}"


def _deepest_failure(nodes: list[TreeNode]) -> TreeNode | None:
    """The first step, deepest first, that failed among `nodes` (what finally happened only)."""
    for node in nodes:
        if node.status in FAILING:
            inner = _deepest_failure(node.final.children)
            if inner is not None:
                return inner
            if node.step is not None:
                return node
    return None


def _failing_outside_items(nodes: list[TreeNode]) -> list[TreeNode]:
    """Failing steps outside work items with nothing failing inside them (a loop that stopped because of
    an item, or a sub-flow that failed because of a step in it, is explained by that item or step)."""
    return _failing_below(nodes)[0]


def _failing_below(nodes: list[TreeNode]) -> tuple[list[TreeNode], bool]:
    """The failing steps outside items among `nodes` and below them, and whether anything (a step or an
    item) failed there at all."""
    found: list[TreeNode] = []
    anything = False
    for node in nodes:
        if node.kind == "item":
            anything = anything or node.status in FAILING
            continue
        inner, explained = _failing_below(node.final.children)
        found += inner
        anything = anything or explained
        if not explained and node.step is not None and node.kind == "step" and node.step.status in FAILING:
            found.append(node)
            anything = True
    return found, anything
