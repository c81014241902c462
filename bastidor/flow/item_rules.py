"""Rules for a flow's work-item loop (`for_each_item`), checked before anything runs.

- A flow has at most one `for_each_item`, counting the sub-flows it calls: under the service its rows are
  the flow's work queue, and two loops would take each other's items.
- It is never inside another loop or item (a `for_each`, another `for_each_item`, or a sub-flow called from
  one): inside an item, loop with `for_each`.
- `fail_item`, `postpone_item` and `assert` with `business: true` act on the current work item, so they run inside the `for_each_item`
  (directly, or in a sub-flow called from its steps). A flow with no `for_each_item` of its own (nor in the
  sub-flows it calls) may use them: it can only be a sub-flow for an item, and validating it alone cannot know
  its caller. Each flow that calls it is checked instead: a call from outside the item loop is an error.
- The step that reads its rows (`read_excel`/`read_csv` into the loop's list) needs at least one row
  unless it says otherwise (`min_rows: 0`): an empty file is a visible failure, never a quiet "0 items".
"""

from __future__ import annotations

from typing import Any, Iterator

from bastidor.actions.registry import all_actions
from bastidor.flow.diagnostics import Diagnostic

ITEM_LOOP = "for_each_item"
LOOPS = ("for_each", ITEM_LOOP, "repeat")
ROW_SOURCES = ("read_excel", "read_csv")
ITEM_STEPS = ("fail_item", "postpone_item")
_OUTSIDE_FIX = {
    "fail_item": "use assert (a false check fails the step, and so the run)",
    "postpone_item": "use wait_for or wait_for_text to wait for what is missing",
    "assert": "remove business: true, so that a false check fails the step instead",
}
_WHAT_IT_DOES = {"fail_item": "it fails the current work item", "postpone_item": "it puts the current work item off",
                 "assert": "it fails the current work item"}
_WRITTEN = {"assert": "assert with business: true"}


def check_item_loops(flow: Any) -> list[Diagnostic]:
    """Problems with where `flow`'s work-item loops are; marks the read step feeding the loop as needing rows."""
    problems: list[Diagnostic] = []
    first: Any = None
    for node, inside_loop, call in _walk(flow.steps, False, None, set()):
        if node.action != ITEM_LOOP:
            continue
        if inside_loop:
            via = f" (the sub-flow called here has one at {node.where})" if call is not None else ""
            problems.append(_at(call or node, "for_each_item cannot be inside a loop or an item: its rows are the "
                                              f"flow's work items; to loop inside an item, use for_each{via}"))
        elif first is not None:
            problems.append(_at(node, f"a flow has one for_each_item (its list of work items); the first is at "
                                      f"{first.where}: process these rows with for_each inside it, or make them "
                                      "a flow of their own"))
        else:
            first = node
    if first is not None:
        _require_rows(flow, first)
    return problems


def check_item_steps(flow: Any) -> list[Diagnostic]:
    """`fail_item` and `postpone_item` steps of a flow with an item loop that are not inside it, reported at the
    step, or at the outermost `call` that reaches them from outside the loop (see the module's rules)."""
    loop: Any = None
    outside: dict[int, tuple[Any, Any]] = {}
    for node, in_item, call in _walk_items(flow.steps, False, None, set()):
        if node.action == ITEM_LOOP and loop is None:
            loop = node
        elif _acts_on_item(node) and not in_item:
            outside.setdefault(id(call or node), (node, call))
    if loop is None:
        return []
    return [_outside_item(node, call, loop) for node, call in outside.values()]


def _acts_on_item(node: Any) -> bool:
    """Whether the step acts on the current work item: fail_item, postpone_item, or assert with business: true."""
    return node.action in ITEM_STEPS or (node.action == "assert" and getattr(node.params, "business", False))


def _outside_item(node: Any, call: Any, loop: Any) -> Diagnostic:
    loop_at = f"line {loop.line}" if loop.file == (call or node).file else loop.where
    fix = _OUTSIDE_FIX[node.action]
    if node.action == "fail_item" and "assert" not in all_actions():
        fix = "check the page with assert_text or assert_visible"
    rule = f"only works inside for_each_item: {_WHAT_IT_DOES[node.action]}"
    step = _WRITTEN.get(node.action, node.action)
    if call is None:
        return _at(node, f"{step} {rule}, and this step is not in the steps of the for_each_item at "
                         f"{loop_at}; move it there, or outside an item loop {fix}")
    return _at(call, f"the sub-flow called here uses {step} (at {node.where}), which {rule}, and this call "
                     f"is not in the steps of the for_each_item at {loop_at}; call it from there, or outside an "
                     f"item loop {fix}")


def _walk_items(nodes: list, in_item: bool, call: Any, seen: set) -> Iterator[tuple[Any, bool, Any]]:
    """Every step with whether it runs inside a work item, and the outermost `call` step it was reached through."""
    for node in nodes:
        yield node, in_item, call
        for block in node.blocks.values():
            yield from _walk_items(block, in_item or node.action == ITEM_LOOP, call, seen)
        key = (getattr(node.callee, "path", None), in_item, id(call or node))
        if node.callee is not None and key not in seen:
            seen.add(key)
            yield from _walk_items(node.callee.steps, in_item, call or node, seen)


def _walk(nodes: list, inside_loop: bool, call: Any, seen: set) -> Iterator[tuple[Any, bool, Any]]:
    """Every step with whether it runs inside a loop, and the outermost `call` step it was reached through."""
    for node in nodes:
        yield node, inside_loop, call
        for block in node.blocks.values():
            yield from _walk(block, inside_loop or node.action in LOOPS, call, seen)
        key = (getattr(node.callee, "path", None), inside_loop)
        if node.callee is not None and key not in seen:
            seen.add(key)
            yield from _walk(node.callee.steps, inside_loop, call or node, seen)


def _require_rows(flow: Any, loop: Any) -> None:
    """Give the read step whose rows the loop takes `default_min_rows = 1` (see the data steps' `min_rows`)."""
    names = _list_names(loop)
    for node in _own_steps(flow.steps):
        if node.action in ROW_SOURCES and getattr(node.params, "into", None) in names:
            node.default_min_rows = 1


def _own_steps(nodes: list) -> Iterator[Any]:
    """The flow's own steps at any depth, not those of the sub-flows it calls (they are shared)."""
    for node in nodes:
        yield node
        for block in node.blocks.values():
            yield from _own_steps(block)


def _list_names(loop: Any) -> set[str]:
    from bastidor.expr import template_names

    try:
        return template_names(loop.params.items)
    except Exception:  # an expression that does not parse is reported by the name checks
        return set()


def _at(node: Any, message: str) -> Diagnostic:
    return Diagnostic(node.file, node.line, node.column, message)
