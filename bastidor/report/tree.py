"""Rebuilds the nested step tree of a run from its flat, path-addressed step records.

Paths look like `3`, `3[2].1` (step 1 of iteration 2 of step 3), `4.then.1` and `5>.2` (step 2 of the
sub-flow called by step 5). A parent that is not itself a step (an iteration, a work item, a branch, a
sub-flow) becomes a group node.

A step's record is written when it ends, after the records of the steps inside it, and each attempt of a
retried step has its own record. So the records met since a step's last record are the children of its
next one: each attempt keeps its own sub-tree. A step tried more than once becomes one node whose
children are its attempts ("Attempt 1", "Attempt 2", ...), and its status is its last attempt's. A work
item run twice in one run (the service retries it) becomes one item node with its attempts likewise.

    tree = build_step_tree(steps, items=store.list_items(run_id), details=step_details(...),
                           limits=AttemptLimits.of_run(run))
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator, Mapping

from bastidor.report.attempt_limits import AttemptLimits
from bastidor.report.node import TreeNode

_REPEAT_ATTEMPT = re.compile(r"^attempt(\d+)$")
"""The path label of one attempt of a `repeat` step: `4.attempt2.1` is step 1 of its second attempt."""


def build_step_tree(steps: Iterable[Any], items: Iterable[Any] = (), details: Mapping[int, Any] | None = None,
                    limits: AttemptLimits | None = None) -> list[TreeNode]:
    """The top-level nodes of the run's step tree. `items` (the run's item records) give work items their
    outcome, `details` (see `step_details`) the values steps recorded, `limits` the attempts allowed."""
    builder = _Builder(details or {})
    for step in steps:
        builder.add(step)
    return _finish(builder.close(), {item.item_ref: item for item in items}, limits or AttemptLimits())


def walk_final(nodes: Iterable[TreeNode]) -> Iterator[TreeNode]:
    """Every node of what finally happened, depth first: earlier attempts of retried steps and items are
    left out (the retried node itself is included)."""
    for node in nodes:
        yield node
        yield from walk_final(node.final.children)


class _Builder:
    """Places step records, in the order they were written, under the step that holds them."""

    def __init__(self, details: Mapping[int, Any]):
        self.details = details
        self.waiting: dict[str, list[TreeNode]] = {"": []}
        """Nodes met before the record of the step that holds them, by that step's path ("" the run)."""
        self.not_run: dict[str, TreeNode] = {}
        """Steps recorded as not run: their own not-run steps are recorded after them, not before."""
        self.groups: dict[tuple[int, str], TreeNode] = {}
        """The latest group of each path in each list of children (by the list's id): found without a scan."""
        self.held: dict[int, set[str]] = {}
        """The paths of the steps each group (by its id) holds, to see an item run again."""

    def add(self, step: Any) -> None:
        node = TreeNode(step.path, step, details=self.details.get(step.seq, {}), item_ref=step.item_ref)
        if step.status != "not_run":
            self.not_run.clear()
        node.children = self.waiting.pop(step.path, [])
        self.place(node)
        if step.status == "not_run":
            self.not_run[step.path] = node

    def place(self, node: TreeNode) -> None:
        owner, groups = _owner_and_groups(node.path)
        siblings = self.not_run[owner].children if owner in self.not_run else self.waiting.setdefault(owner, [])
        for depth, group_path in enumerate(groups):
            innermost = depth == len(groups) - 1
            siblings = self._group(siblings, group_path, node, innermost).children
        siblings.append(node)

    def _group(self, siblings: list[TreeNode], path: str, node: TreeNode, innermost: bool) -> TreeNode:
        group = self.groups.get((id(siblings), path))
        if group is None or (innermost and self._starts_again(group, node)):
            group = _new_group(path, node)
            siblings.append(group)
            self.groups[(id(siblings), path)] = group
        if innermost:
            self.held.setdefault(id(group), set()).add(node.path)
        return group

    def _starts_again(self, group: TreeNode, node: TreeNode) -> bool:
        """A step's first attempt in a group that already holds that step: the item runs again (the service
        retries it within the run), so its steps form a new group."""
        first_try = node.step is None or node.step.attempt <= 1
        return first_try and node.path in self.held.get(id(group), ())

    def close(self) -> list[TreeNode]:
        """The top-level nodes; steps still waiting for their own record become unfinished nodes."""
        while len(self.waiting) > 1:
            path = max((path for path in self.waiting if path), key=len)
            children = self.waiting.pop(path)
            ref = next((child.item_ref for child in children if child.item_ref is not None), None)
            self.place(TreeNode(path, children=children, kind="unfinished", item_ref=ref))
        return self.waiting.pop("")


def _new_group(path: str, first: TreeNode) -> TreeNode:
    """The group at `path`, of which `first` is the first node met: a work item (the first iteration in a
    path that has a reference), an attempt of a `repeat` (``attempt2``), or a plain group."""
    if path.endswith("]") and path.count("[") == 1 and first.item_ref is not None:
        return TreeNode(path, kind="item", item_ref=first.item_ref)
    repeat = _REPEAT_ATTEMPT.match(path.rsplit(".", 1)[-1])
    if repeat is not None:
        return TreeNode(path, kind="attempt", number=int(repeat[1]), item_ref=first.item_ref)
    return TreeNode(path, kind="group")


def _owner_and_groups(path: str) -> tuple[str, list[str]]:
    """The path of the step that holds `path`, and the group paths between them, outermost first."""
    groups: list[str] = []
    parent = _parent_path(path)
    while parent and _is_group(parent):
        groups.insert(0, parent)
        parent = _parent_path(parent)
    return parent, groups


def _is_group(path: str) -> bool:
    last = path.rsplit(".", 1)[-1]
    return path.endswith(("]", ">")) or not last.isdigit()


def _parent_path(path: str) -> str:
    if path.endswith("]"):
        return path.rsplit("[", 1)[0]
    if path.endswith(">"):
        return path[:-1]
    return path.rsplit(".", 1)[0] if "." in path else ""


def _finish(nodes: list[TreeNode], items: Mapping[str, Any], limits: AttemptLimits) -> list[TreeNode]:
    """Fold repeated attempts into one node each, give items their records, and do the same below."""
    retried = items_seen = False
    for node in nodes:
        if node.children:
            node.children = _finish(node.children, items, limits)
            if node.kind == "step" and node.children[0].kind == "attempt":  # a `repeat`: attempts are groups
                node.limit = limits.max_attempts(node.path)
        if node.kind == "item":
            node.item, items_seen = items.get(node.item_ref), True
        retried = retried or (node.step is not None and node.step.attempt > 1)
    if retried:
        nodes = _fold_step_attempts(nodes, limits)
    return _fold_item_attempts(nodes, items, limits) if items_seen else nodes


def _fold_step_attempts(nodes: list[TreeNode], limits: AttemptLimits) -> list[TreeNode]:
    folded: list[TreeNode] = []
    for node in nodes:
        previous = folded[-1] if folded else None
        if _next_attempt(previous, node):
            previous.children.append(_as_attempt(node, node.step.attempt))
            previous.step, previous.details = node.step, node.details
            continue
        if node.kind == "step" and node.step is not None and node.step.attempt > 1:
            node = TreeNode(node.path, node.step, [_as_attempt(node, node.step.attempt)], details=node.details,
                            item_ref=node.item_ref)
        folded.append(node)
    for node in folded:
        if any(attempt.step is not None for attempt in node.attempts):  # tries of a step's `retry`
            node.limit = limits.step(node.path)
    return folded


def _next_attempt(previous: TreeNode | None, node: TreeNode) -> bool:
    if previous is None or node.kind != "step" or previous.kind != "step" or node.step is None:
        return False
    if previous.path != node.path or previous.step is None or node.step.attempt <= previous.step.attempt:
        return False
    if not previous.attempts:
        previous.children = [_as_attempt(TreeNode(previous.path, previous.step, previous.children,
                                                  details=previous.details), previous.step.attempt)]
    return True


def _as_attempt(node: TreeNode, number: int) -> TreeNode:
    return TreeNode(node.path, node.step, node.children, kind="attempt", details=node.details, number=number,
                    item_ref=node.item_ref)


def _fold_item_attempts(nodes: list[TreeNode], items: Mapping[str, Any], limits: AttemptLimits) -> list[TreeNode]:
    runs: dict[str, list[TreeNode]] = {}
    for node in nodes:
        if node.kind == "item":
            runs.setdefault(node.path, []).append(node)
    folded: list[TreeNode] = []
    for node in nodes:
        tries = runs.get(node.path) if node.kind == "item" else None
        if tries is None or len(tries) == 1:
            folded.append(node)
        elif node is tries[0]:
            folded.append(_item_with_attempts(tries, items.get(node.item_ref), limits))
    return folded


def _item_with_attempts(tries: list[TreeNode], item: Any, limits: AttemptLimits) -> TreeNode:
    last_number = item.attempts if item is not None and item.attempts >= len(tries) else len(tries)
    first = last_number - len(tries) + 1
    attempts = [TreeNode(one.path, children=one.children, kind="attempt", number=first + index,
                         item_ref=one.item_ref) for index, one in enumerate(tries)]
    return TreeNode(tries[0].path, children=attempts, kind="item", item=item, item_ref=tries[0].item_ref,
                    limit=limits.max_attempts(_parent_path(tries[0].path)))
