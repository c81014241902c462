"""One node of a run's step tree and how it reads: a step, an attempt of a retried step or item, a work
item, or a group of steps; its status (the worst of what it holds), label, note ("passed on attempt 3 of
10", "application exception: ..."), the value it recorded and the error to show beside it.

The tree itself is built by `bastidor.report.tree`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from bastidor.report.step_values import is_plain_log_title, logged_message, shown_value

SEVERITY = ("crashed", "failed", "interrupted", "business_exception", "postponed", "running", "not_run", "passed")
"""Statuses from the worst to the best: a group shows the worst status among its children."""

FAILING = frozenset({"crashed", "failed", "interrupted", "business_exception"})
"""Statuses that mean the step (or item) did not do its job."""

_ITEM_STATUS = {"successful": "passed", "failed": "failed", "postponed": "postponed", "interrupted": "interrupted",
                "in_progress": "running"}


def worst(statuses: Iterable[str]) -> str:
    """The worst of `statuses` ("passed" when there are none)."""
    present = set(statuses)
    return next((status for status in SEVERITY if status in present), "passed")


def item_status(item: Any) -> str:
    """A work item's outcome in the statuses of steps: a business exception is ``business_exception``."""
    if item.status == "failed" and item.exception == "business":
        return "business_exception"
    return _ITEM_STATUS.get(item.status, item.status)


def exception_words(item: Any) -> str:
    """How an item ended, in words: "business exception", "application exception", "postponed" ..."""
    if item.status == "failed":
        return f"{item.exception} exception" if item.exception else "failed"
    return {"successful": "passed", "in_progress": "in progress"}.get(item.status, item.status)


@dataclass
class TreeNode:
    """A step, a retried step's attempt, a work item, or a group of steps, with its children in the order
    they ran.

    `kind` is ``step``, ``attempt`` (one try of the retried step or item above it), ``item`` (the steps of
    one work item), ``group`` (an iteration of a plain loop, a branch, a sub-flow) or ``unfinished`` (a step
    with no record of its end: still running, or its process died)."""

    path: str
    step: Any = None
    children: list[TreeNode] = field(default_factory=list)
    kind: str = "step"
    details: Mapping[str, Any] = field(default_factory=dict)
    item: Any = None
    item_ref: str | None = None
    number: int | None = None
    """For an attempt: which attempt it was (1, 2, ...)."""
    limit: int | None = None
    """For a retried step or item: how many attempts it was allowed, when known."""

    @property
    def attempts(self) -> list[TreeNode]:
        """The attempts of a step or item tried more than once (empty otherwise)."""
        return [child for child in self.children if child.kind == "attempt"]

    @property
    def final(self) -> TreeNode:
        """The node whose children are what finally happened: the last attempt, or this node."""
        attempts = self.attempts
        return attempts[-1] if attempts else self

    @property
    def status(self) -> str:
        """The outcome shown: a step's own status (a passed loop shows the worst of its items), an item's
        outcome, the last attempt's status, or the worst status among a group's children."""
        if self.kind == "item" and self.item is not None:
            return item_status(self.item)
        if self.step is not None and self.kind in ("step", "attempt"):
            own = self.step.status
            if own != "passed" or self.kind == "attempt":
                return own
            return worst([own] + [child.status for child in self.children if child.kind == "item"])
        if self.kind == "unfinished":
            return worst(["running"] + [child.status for child in self.children])
        return worst(child.status for child in self.final.children)

    @property
    def label(self) -> str:
        """What the node is: the step's name (a plain `log` shows its message), "Attempt 2", "item ORD-7",
        "iteration 3", "sub-flow" or a branch's name."""
        if self.kind == "attempt":
            return f"Attempt {self.number}"
        if self.kind == "item":
            return f"item {self.item_ref}"
        if self.step is not None:
            message = logged_message(self.details) if self.step.action == "log" else None
            if message is not None and is_plain_log_title(self.step.name, self.details):
                return f"log: {message}"
            name = self.step.name or self.step.action or f"step {self.path}"
            target = getattr(self.step, "target", None)
            if target and "{{" in name:  # a target written with expressions: show what they gave
                return f"{name} (resolved: {target})"
            return name
        if self.kind == "unfinished":
            return f"step {self.path}"
        if self.path.endswith("]"):
            return f"iteration {self.path.rsplit('[', 1)[1].rstrip(']')}"
        if self.path.endswith(">"):
            return "sub-flow"
        return self.path.rsplit(".", 1)[-1]

    @property
    def note(self) -> str | None:
        """A few words on how it went: "passed on attempt 3 of 10", "business exception: Out of stock",
        "12 items: 11 passed, 1 business exception", an attempt's error; None when there is nothing to add."""
        if self.kind == "attempt":
            error = self.step.error if self.step is not None else _first_error(self.children)
            return _first_line(error) if error else None
        if len(self.attempts) > 1 or (self.attempts and self.attempts[0].number != 1):
            return _attempts_note(self) + self._reason()
        if self.kind == "item" and self.item is not None and self.item.status != "successful":
            if self.status == "business_exception" and self.item.reason:
                return _first_line(self.item.reason)
            return exception_words(self.item) + self._reason()
        if self.kind == "unfinished":
            return "no record of its end: still running, or its process stopped"
        items = [child for child in self.children if child.kind == "item"]
        return _items_note(items) if items else None

    def _reason(self) -> str:
        """": <the item's reason>" for an item that did not succeed, else nothing."""
        if self.kind != "item" or self.item is None or self.item.status == "successful" or not self.item.reason:
            return ""
        return f": {_first_line(self.item.reason)}"

    @property
    def own_error(self) -> str | None:
        """The error to show beside this node: its record's, unless its attempts show their own."""
        if self.step is None or not self.step.error:
            return None
        if self.kind == "step" and any(attempt.step is not None for attempt in self.attempts):
            return None
        return None if _first_error(self.final.children) == self.step.error else self.step.error

    @property
    def value(self) -> str | None:
        """What the step recorded, in a few words (a value read, a message logged, a value compared)."""
        if self.step is None or self.kind == "attempt":
            return None
        if self.step.action == "log" and is_plain_log_title(self.step.name, self.details):
            return None
        return shown_value(self.step.action, self.details)

    @property
    def open(self) -> bool:
        """Shown unfolded: what did not pass, and whatever holds it; a step that passed on a later attempt
        stays folded."""
        return self.status != "passed" and self.status != "not_run"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text and text.strip() else ""


def _first_error(nodes: list[TreeNode]) -> str | None:
    """The error of the first step that failed among `nodes` or inside them."""
    for node in nodes:
        if node.step is not None and node.step.error:
            inner = _first_error(node.children)
            return inner or node.step.error
        inner = _first_error(node.children)
        if inner:
            return inner
    return None


def _attempts_note(node: TreeNode) -> str:
    last = node.attempts[-1]
    of = f" of {node.limit}" if node.limit else ""
    if node.status == "passed":
        return f"passed on attempt {last.number}{of}"
    words = exception_words(node.item) if node.kind == "item" and node.item is not None else \
        node.status.replace("_", " ")
    return f"{words} on attempt {last.number}{of}"


def _items_note(items: list[TreeNode]) -> str:
    counts: dict[str, int] = {}
    for item in items:
        words = exception_words(item.item) if item.item is not None else item.status.replace("_", " ")
        counts[words] = counts.get(words, 0) + 1
    parts = [f"{count} {words}" for words, count in sorted(counts.items(), key=lambda pair: pair[0] != "passed")]
    return f"{len(items)} item{'s' if len(items) != 1 else ''}: " + ", ".join(parts)
