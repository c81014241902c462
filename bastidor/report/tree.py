"""Rebuilds the nested step tree of a run from its flat, path-addressed step records.

Paths look like `3`, `3[2].1` (step 1 of iteration 2 of step 3), `4.then.1` and `5>.2`
(step 2 of the sub-flow called by step 5). A parent that is not itself a step (an
iteration, a branch, a sub-flow) becomes a group node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable


@dataclass
class TreeNode:
    """A step (or a group of steps) with its children in the order they ran."""

    path: str
    step: Any = None
    children: list["TreeNode"] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The step's name, or a group's description."""
        if self.step is not None:
            return self.step.name
        if self.path.endswith("]"):
            return f"iteration {self.path.rsplit('[', 1)[1].rstrip(']')}"
        if self.path.endswith(">"):
            return "sub-flow"
        return self.path.rsplit(".", 1)[-1]

    @property
    def status(self) -> str:
        """The step's status, or the worst status among a group's children."""
        if self.step is not None:
            return self.step.status
        order = ["crashed", "failed", "interrupted", "business_exception", "postponed", "not_run", "passed"]
        statuses = {child.status for child in self.children}
        return next((s for s in order if s in statuses), "passed")


def build_step_tree(steps: Iterable[Any]) -> list[TreeNode]:
    """The top-level nodes of the run's step tree."""
    root = TreeNode("")
    latest: dict[str, TreeNode] = {"": root}
    for step in steps:
        node = latest.get(step.path)
        if node is None or node.step is not None:
            node = TreeNode(step.path)
            _parent(step.path, latest).children.append(node)
            latest[step.path] = node
        node.step = step
    return root.children


def _parent(path: str, latest: dict[str, TreeNode]) -> TreeNode:
    parent_path = _parent_path(path)
    parent = latest.get(parent_path)
    if parent is None:
        parent = TreeNode(parent_path)
        _parent(parent_path, latest).children.append(parent)
        latest[parent_path] = parent
    return parent


def _parent_path(path: str) -> str:
    if path.endswith("]"):
        return path.rsplit("[", 1)[0]
    if path.endswith(">"):
        return path[:-1]
    return path.rsplit(".", 1)[0] if "." in path else ""
