"""A loop needs a list: `for_each` or `for_each_item` over a number, a text or a date is caught before the run.

Only what is certain from the flow file is reported: a loop over an input whose declared type is never a list
(`integer`, `decimal`, `text`, `date`, `boolean`, `path`) and that no step sets again, or over a value written
in the expression itself (`"{{ 5 }}"`, `"{{ 'A1,B2' }}"`). Any other expression is checked when it runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from bastidor.flow.yamlsource import Loc

LOOP_ACTIONS = ("for_each", "for_each_item")
_ROWS_HINT = "loop over rows read with read_excel or read_csv (into: rows, then \"{{ rows }}\")"
_HINTS = {
    "integer": f"{_ROWS_HINT}, or over a list written out, e.g. \"{{{{ [1, 2, 3] }}}}\"",
    "decimal": f"{_ROWS_HINT}, or over a list written out, e.g. \"{{{{ [1.5, 2.5] }}}}\"",
    "path": "read the file's rows first (read_excel or read_csv with into: rows) and loop over \"{{ rows }}\"",
}
_ARTICLES = {"integer": "an integer", "decimal": "a decimal", "text": "a text", "date": "a date",
             "boolean": "a boolean", "path": "a path"}


def not_a_list_problems(flow: Any) -> list[tuple[Any, Loc, str]]:
    """(step, where its list is written, message) for each loop of `flow` whose list is surely not a list."""
    inputs = {name: spec.type.value for name, spec in flow.header.inputs.items() if hasattr(spec, "type")}
    reassigned = _names_set_by_steps(flow.steps)
    problems = []
    for node in _own_steps(flow.steps):
        if node.action not in LOOP_ACTIONS:
            continue
        what = _what_it_is(node.written.get(node.spec.shorthand), inputs, reassigned)
        if what is not None:
            description, kind = what
            problems.append((node, node.param_locs[node.spec.shorthand],
                             f"{node.action} needs a list; {description}: {_hint(kind, _named(description))}"))
    return problems


def _what_it_is(written: Any, inputs: dict[str, str], reassigned: set[str]) -> tuple[str, str] | None:
    """What a loop's list surely is when it is not a list: (a description, its kind), else None."""
    tree = _lone_expression(written)
    if isinstance(tree, ast.Name) and inputs.get(tree.id, "list") in _ARTICLES and tree.id not in reassigned:
        kind = inputs[tree.id]
        return f"'{tree.id}' is {_ARTICLES[kind]} input", kind
    if isinstance(tree, ast.Constant) and not isinstance(tree.value, bool) and tree.value is not None:
        if isinstance(tree.value, str):
            return f"'{tree.value}' is text", "text"
        return f"{tree.value} is a number", "integer"
    return None


def _named(description: str) -> str:
    """The input a description names ("'branches' is a text input"), else a stand-in name for the example."""
    return description.split("'")[1] if description.startswith("'") else "codes"


def _hint(kind: str, name: str = "codes") -> str:
    from bastidor.expr import FUNCTION_NAMES

    if kind == "text":
        if "split" in FUNCTION_NAMES:
            return (f"to loop over the parts of a text, split it, e.g. \"{{{{ split({name}, ',') }}}}\"; or "
                    f"{_ROWS_HINT}")
        return f"{_ROWS_HINT}, or over a list written out, e.g. \"{{{{ ['A1', 'B2'] }}}}\""
    return _HINTS.get(kind, _ROWS_HINT)


def _lone_expression(written: Any) -> ast.expr | None:
    """The parsed expression of a value written as exactly one `{{ expression }}`, else None."""
    if not isinstance(written, str):
        return None
    text = written.strip()
    if not (text.startswith("{{") and text.endswith("}}")) or text.count("{{") != 1:
        return None
    try:
        return ast.parse(text[2:-2].strip(), mode="eval").body
    except SyntaxError:  # reported by the expression checks
        return None


def _names_set_by_steps(nodes: list) -> set[str]:
    """Every name a step of the flow sets (set, into, loop variables, sub-flow outputs)."""
    names: set[str] = set()
    for node in _own_steps(nodes):
        names |= node.spec.defined_names(node.params)
        loop_var = getattr(node.params, "as_", None)
        if loop_var:
            names.add(loop_var)
        if node.callee is not None:
            names |= set(node.callee.header.outputs)
    return names


def _own_steps(nodes: list) -> Iterator[Any]:
    for node in nodes:
        yield node
        for block in node.blocks.values():
            yield from _own_steps(block)
