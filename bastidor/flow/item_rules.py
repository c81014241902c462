"""Rules for a flow's work-item loop (`for_each_item`), checked before anything runs.

- A flow has at most one `for_each_item`, counting the sub-flows it calls: under the service its rows are
  the flow's work queue, and two loops would take each other's items.
- It is never inside another loop or item (a `for_each`, another `for_each_item`, or a sub-flow called from
  one): inside an item, loop with `for_each`.
- The step that reads its rows (`read_excel`/`read_csv` into the loop's list) needs at least one row
  unless it says otherwise (`min_rows: 0`): an empty file is a visible failure, never a quiet "0 items".
"""

from __future__ import annotations

from typing import Any, Iterator

from bastidor.flow.diagnostics import Diagnostic

ITEM_LOOP = "for_each_item"
LOOPS = ("for_each", ITEM_LOOP)
ROW_SOURCES = ("read_excel", "read_csv")


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
