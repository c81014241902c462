"""Explaining Jinja-style filters (`{{ x | upper }}`), which Bastidor's expressions do not have: the message
shows the same thing written as a function call, when Bastidor has such a function."""

from __future__ import annotations

import ast
from collections.abc import Callable

from bastidor.expr.functions import FUNCTIONS

SourceOf = Callable[[ast.AST], str]

FILTER_FUNCTIONS = {
    "length": "len", "count": "count", "string": "text", "float": "decimal", "map": "pluck", "select": "filter",
    "selectattr": "where", "sort": "sort_by",
}
"""Jinja filter names whose Bastidor function has another name."""

JINJA_FILTERS = frozenset({
    "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
    "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "items", "join",
    "last", "length", "list", "lower", "map", "max", "min", "pprint", "random", "reject", "rejectattr", "replace",
    "reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags", "sum", "title",
    "tojson", "trim", "truncate", "unique", "upper", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr",
})
"""Jinja's built-in filters: `x | title` is recognised as a filter even though Bastidor has no title()."""

_GENERIC = ("filters ('|') are not supported: call a function instead, for example upper(x); "
            "the functions are listed in the flow language guide")


def is_filter(node: ast.BinOp) -> bool:
    """Whether `node` looks like `value | filter` or `value | filter(arguments)`."""
    if not isinstance(node.op, ast.BitOr):
        return False
    name = _filter_name(node.right)
    if isinstance(node.right, ast.Call):
        return name is not None
    return name is not None and (name in FUNCTIONS or name in JINJA_FILTERS)


def filter_message(node: ast.BinOp, source_of: SourceOf) -> str:
    """The message for a filter: how to write it as a call, or the general advice when there is no such call."""
    if _filter_name(node.right) in ("default", "d"):
        return "filters ('|') are not supported: instead of | default(...), write x or 'the default value'"
    call = _as_call(node, source_of)
    if call is None:
        return _GENERIC
    return f"filters ('|') are not supported: write {call}"


def _as_call(node: ast.AST, source_of: SourceOf) -> str | None:
    """`x | trim | upper` as `upper(trim(x))`, or None when one of the filters has no function."""
    if not (isinstance(node, ast.BinOp) and is_filter(node)):
        return source_of(node)
    inner = _as_call(node.left, source_of)
    name = _filter_name(node.right)
    function = FILTER_FUNCTIONS.get(name, name)
    if inner is None or function not in FUNCTIONS:
        return None
    extra: list[str] = []
    if isinstance(node.right, ast.Call):
        extra = [source_of(argument) for argument in node.right.args]
        extra += [f"{keyword.arg}={source_of(keyword.value)}" for keyword in node.right.keywords]
    return f"{function}({', '.join([inner, *extra])})"


def _filter_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    return node.id if isinstance(node, ast.Name) else None
