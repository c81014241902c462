"""The kind of value a part of an expression gives, when it is known before the expression runs.

Used to find, when a flow is validated, comparisons that can never be what was meant: `"5" > 3` (text with a
number), `parse_date(x) > "2024-01-01"` (a date with text). Only constants, operators on known kinds and
functions that always give one kind are known; names and fields are not.
"""

from __future__ import annotations

import ast
from decimal import Decimal

from bastidor.expr.functions import DATE, FLAG, FUNCTIONS, LIST, NUMBER, TEXT

_ARITHMETIC = (ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_ORDERINGS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_EQUALITIES = {ast.Eq: "==", ast.NotEq: "!="}
_MISMATCHED = ({TEXT, NUMBER}, {TEXT, DATE}, {NUMBER, DATE})


def kind_of(node: ast.AST) -> str | None:
    """The kind of value `node` always gives ("text", "a number", "a date" ...), or None when unknown."""
    if isinstance(node, ast.Constant):
        return _constant_kind(node.value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
        return FUNCTIONS[node.func.id].gives
    if isinstance(node, ast.BinOp):
        return _operation_kind(node)
    if isinstance(node, ast.UnaryOp):
        return FLAG if isinstance(node.op, ast.Not) else _only(kind_of(node.operand), NUMBER)
    if isinstance(node, (ast.Compare,)):
        return FLAG
    if isinstance(node, ast.IfExp):
        body, orelse = kind_of(node.body), kind_of(node.orelse)
        return body if body == orelse else None
    if isinstance(node, ast.List):
        return LIST
    if isinstance(node, ast.Name) and node.id in ("true", "false", "True", "False"):
        return FLAG
    return None


def comparison_problem(left: ast.AST, operator: ast.cmpop, right: ast.AST, source_of) -> str | None:
    """Why comparing `left` with `right` can never work as meant, or None. `source_of(node)` gives its text."""
    kinds = kind_of(left), kind_of(right)
    if None in kinds or set(kinds) not in _MISMATCHED:
        return None
    symbol = _ORDERINGS.get(type(operator)) or _EQUALITIES.get(type(operator))
    if symbol is None:
        return None
    text_node = left if kinds[0] == TEXT else right
    start = (f"cannot compare {kinds[0]} with {kinds[1]} using {symbol}" if symbol in _ORDERINGS.values()
             else f"{kinds[0]} is never equal to {kinds[1]}, so {symbol} here is always "
                  f"{'false' if symbol == '==' else 'true'}")
    return f"{start}{_fix(set(kinds), text_node, source_of)}"


def membership_problem(item: ast.AST, container: ast.AST) -> str | None:
    """Why `item in container` cannot work, for a container that is known to be text, or None."""
    if kind_of(container) == TEXT and kind_of(item) in (NUMBER, DATE, FLAG):
        return f"cannot look for {kind_of(item)} inside text: write it as text, for example text(x)"
    return None


def _fix(kinds: set[str], text_node: ast.AST, source_of) -> str:
    if TEXT not in kinds:
        return ""
    written = source_of(text_node) if isinstance(text_node, ast.Constant) else "x"
    if DATE in kinds:
        return f": read the text as a date with parse_date({written})"
    return f": read the text as a number with decimal({written}) or parse_number({written})"


def _constant_kind(value: object) -> str | None:
    if isinstance(value, bool):
        return FLAG
    if isinstance(value, (int, float, Decimal)):
        return NUMBER
    if isinstance(value, str):
        return TEXT
    return None


def _operation_kind(node: ast.BinOp) -> str | None:
    left, right = kind_of(node.left), kind_of(node.right)
    if isinstance(node.op, ast.Add):
        return left if left == right and left in (TEXT, NUMBER, LIST) else None
    if isinstance(node.op, ast.Mult) and {left, right} == {TEXT, NUMBER}:
        return TEXT
    if isinstance(node.op, _ARITHMETIC) and left == right == NUMBER:
        return NUMBER
    return None


def _only(kind: str | None, expected: str) -> str | None:
    return kind if kind == expected else None
