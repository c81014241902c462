"""Checks, before a flow runs, of function arguments written as constants: a rounding mode, a date format, a
regular expression, a decimal separator, a row expression.

A mistake found here is reported by `validate` with its place in the file, instead of failing the run later.
Arguments computed while the flow runs are checked by the functions themselves, with the same messages.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from bastidor.expr.dates import date_format_problem
from bastidor.expr.errors import ExpressionSyntaxError
from bastidor.expr.functions import FUNCTIONS
from bastidor.expr.number_functions import rounding_mode_problem
from bastidor.expr.patterns import PATTERN_FUNCTIONS, pattern_problem, replacement_problem
from bastidor.expr.rows import ROW_NAME, compile_row_expression
from bastidor.expr.values import quoted

SourceOf = Callable[[ast.AST], str]
_CONDITIONS = (ast.Compare, ast.BoolOp)
_RAW_LITERAL_QUOTES = ("'", '"')


class CallProblem(Exception):
    """A constant argument that cannot work: the node at fault, the message, and an offset inside the node."""

    def __init__(self, node: ast.AST, message: str, inside: int = 0):
        super().__init__(message)
        self.node = node
        self.message = message
        self.inside = inside


def argument(node: ast.Call, name: str, position: int) -> ast.expr | None:
    """The argument of call `node` at `position` (from 0), or given by keyword as its parameter name."""
    if position < len(node.args):
        return node.args[position]
    parameter = FUNCTIONS[name].parameter(position)
    return next((keyword.value for keyword in node.keywords if keyword.arg == parameter), None)


def keep_patterns_as_written(name: str, node: ast.Call, source_of: SourceOf) -> None:
    """Read the constant pattern and replacement of a regex function as written, backslashes kept: in
    regex_find(x, "\\d+\\b") the \\b is a word boundary, not a backspace."""
    for position in PATTERN_FUNCTIONS.get(name, ()):
        written = argument(node, name, position)
        if isinstance(written, ast.Constant) and isinstance(written.value, str):
            written.value = _as_written(source_of(written), written.value)


def check_call(name: str, node: ast.Call) -> set[str]:
    """Raise CallProblem for a constant argument of call `node` that cannot work; returns the variable names
    its constant row expression reads (besides `row`)."""
    for check in (_check_rounding, _check_date_format, _check_patterns, _check_decimal_mark):
        check(name, node)
    return _row_expression_names(name, node)


def _check_rounding(name: str, node: ast.Call) -> None:
    if name != "round":
        return
    mode = _constant(argument(node, name, 2))
    if mode is not None:
        problem = rounding_mode_problem(mode.value)
        if problem:
            raise CallProblem(mode, problem)


def _check_date_format(name: str, node: ast.Call) -> None:
    if name not in ("parse_date", "format_date"):
        return
    written = _constant(argument(node, name, 1))
    if written is not None and isinstance(written.value, str):
        problem = date_format_problem(written.value)
        if problem:
            raise CallProblem(written, f"{name}(): the format {quoted(written.value)} {problem}")


def _check_patterns(name: str, node: ast.Call) -> None:
    if name not in PATTERN_FUNCTIONS:
        return
    pattern = _constant(argument(node, name, 1))
    if pattern is None or not isinstance(pattern.value, str):
        return
    problem = pattern_problem(pattern.value)
    if problem:
        raise CallProblem(pattern, f"{name}(): the pattern {quoted(pattern.value)} {problem}")
    replacement = _constant(argument(node, name, 2)) if name == "regex_replace" else None
    if replacement is not None and isinstance(replacement.value, str):
        problem = replacement_problem(replacement.value, pattern.value)
        if problem:
            raise CallProblem(replacement, problem)


def _check_decimal_mark(name: str, node: ast.Call) -> None:
    if name not in ("parse_money", "parse_number"):
        return
    mark = _constant(argument(node, name, 1))
    if mark is not None and mark.value not in (".", ",") and not (name == "parse_money" and mark.value is None):
        raise CallProblem(mark, f'{name}(): decimal must be "." or ",", not {quoted(mark.value)}')


def _row_expression_names(name: str, node: ast.Call) -> set[str]:
    position = FUNCTIONS[name].row_argument
    written = argument(node, name, position) if position is not None else None
    if written is None:
        return set()
    if isinstance(written, _CONDITIONS) or (isinstance(written, ast.UnaryOp) and isinstance(written.op, ast.Not)):
        raise CallProblem(written, f'{name}(): write the row expression in quotes, as text, for example '
                                   f'{name}(rows, "row.Due > 100")')
    if not isinstance(written, ast.Constant):
        return set()
    try:
        expression = compile_row_expression(name, written.value)
    except ExpressionSyntaxError as error:
        inside = 0 if error.offset is None else 1 + error.offset
        raise CallProblem(written, error.message, inside) from None
    return expression.names() - {ROW_NAME}


def _constant(node: ast.expr | None) -> ast.Constant | None:
    return node if isinstance(node, ast.Constant) else None


def _as_written(source: str, value: Any) -> Any:
    """The text between the quotes of a simple literal exactly as written, or `value` for any other literal."""
    if len(source) < 2 or source[0] not in _RAW_LITERAL_QUOTES or source[-1] != source[0]:
        return value
    try:
        raw = ast.literal_eval("r" + source)
    except (SyntaxError, ValueError):
        return value
    return raw if isinstance(raw, str) else value
