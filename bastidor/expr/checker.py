"""Rejects, before anything runs, every construct an expression may not use, and collects the names it reads."""

from __future__ import annotations

import ast
from decimal import Decimal
from typing import Callable

from bastidor.expr.errors import ExpressionSyntaxError, did_you_mean
from bastidor.expr.functions import CONSTANT_NAMES, FUNCTIONS
from bastidor.expr.limits import MAX_DEPTH, MAX_NODES

BINARY_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
                    ast.Pow: "**"}
UNARY_OPERATORS = (ast.USub, ast.UAdd, ast.Not)
COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)
_ALLOWED = (ast.Constant, ast.Name, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call,
            ast.Attribute, ast.Subscript, ast.Slice, ast.List, ast.Dict, ast.keyword)
_COMPREHENSION = "'for' inside brackets (comprehensions) is not allowed: use a loop step in the flow"
_FORBIDDEN = {
    ast.Lambda: "lambda is not allowed: use the functions listed in the documentation",
    ast.ListComp: _COMPREHENSION, ast.SetComp: _COMPREHENSION, ast.DictComp: _COMPREHENSION,
    ast.GeneratorExp: _COMPREHENSION,
    ast.JoinedStr: 'f-strings are not allowed: join text with + or concat(...), e.g. "Total: " + text(total)',
    ast.NamedExpr: "':=' is not allowed: expressions cannot assign values",
    ast.Starred: "'*' before a value is not allowed here",
    ast.Set: "sets {a, b} are not allowed: use a list [a, b]",
    ast.Tuple: "values separated by commas must be inside a list: [a, b]",
    ast.Await: "'await' is not allowed", ast.Yield: "'yield' is not allowed", ast.YieldFrom: "'yield' is not allowed",
}
_CONSTANT_TYPES = (str, int, float, bool, type(None))

Positions = dict[int, tuple[int, int]]


class Checker:
    """Walks a parsed expression once: validates each node, turns decimal literals into `Decimal`, and records
    the root variable names read and the character span of every node (for error offsets)."""

    def __init__(self, char_offset: Callable[[int], int], source: str):
        self._char_offset = char_offset
        self._source = source
        self.names: set[str] = set()
        self.positions: Positions = {}

    def check(self, tree: ast.Expression) -> None:
        """Validate `tree`, raising ExpressionSyntaxError at the first node that is not allowed."""
        pending: list[tuple[ast.AST, int]] = [(tree.body, 1)]
        count = 0
        while pending:
            node, depth = pending.pop()
            count += 1
            self._remember_span(node)
            if count > MAX_NODES:
                self._fail(node, "the expression is too long: split it into smaller steps")
            if depth > MAX_DEPTH:
                self._fail(node, "the expression is nested too deeply: split it into smaller steps or use sum(...)")
            self._check_node(node)
            pending.extend((child, depth + 1) for child in reversed(list(self._children(node))))

    def _remember_span(self, node: ast.AST) -> None:
        if hasattr(node, "col_offset"):
            start = self._char_offset(node.col_offset)
            end = self._char_offset(node.end_col_offset) if node.end_col_offset is not None else start
            if isinstance(node, ast.BinOp):
                start = self._operator_offset(node, start)
            self.positions[id(node)] = (start, end)

    def _operator_offset(self, node: ast.BinOp, start: int) -> int:
        """Where the operator of `left <op> right` is written, so errors from the operation point at it."""
        gap_start = self._char_offset(node.left.end_col_offset)
        gap_end = self._char_offset(node.right.col_offset)
        found = self._source.find(BINARY_OPERATORS.get(type(node.op), "?"), gap_start, gap_end)
        return found if found != -1 else start

    def _fail(self, node: ast.AST, message: str) -> None:
        offset = self.positions.get(id(node), (None, None))[0]
        raise ExpressionSyntaxError(message, offset)

    def _children(self, node: ast.AST):
        if isinstance(node, ast.Call):
            yield from node.args
            yield from node.keywords
        elif isinstance(node, ast.keyword):
            yield node.value
        else:
            yield from (child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr))

    def _check_node(self, node: ast.AST) -> None:
        if type(node) in _FORBIDDEN:
            self._fail(node, _FORBIDDEN[type(node)])
        if not isinstance(node, _ALLOWED):
            self._fail(node, f"'{type(node).__name__}' is not allowed in expressions")
        check = getattr(self, f"_check_{type(node).__name__.lower()}", None)
        if check is not None:
            check(node)

    def _check_constant(self, node: ast.Constant) -> None:
        if not isinstance(node.value, _CONSTANT_TYPES):
            self._fail(node, "only text, numbers, true, false and null can be written as values")
        if isinstance(node.value, float):
            start, end = self.positions[id(node)]
            node.value = Decimal(self._source[start:end])

    def _check_name(self, node: ast.Name) -> None:
        self._refuse_private(node, node.id)
        if node.id not in CONSTANT_NAMES:
            self.names.add(node.id)

    def _check_attribute(self, node: ast.Attribute) -> None:
        self._refuse_private(node, node.attr)

    def _check_keyword(self, node: ast.keyword) -> None:
        if node.arg is None:
            self._fail(node, "'**' before a value is not allowed here")
        self._refuse_private(node, node.arg)

    def _check_dict(self, node: ast.Dict) -> None:
        if any(key is None for key in node.keys):
            self._fail(node, "'**' inside a record is not allowed")

    def _check_binop(self, node: ast.BinOp) -> None:
        if type(node.op) not in BINARY_OPERATORS:
            self._fail(node, "this operator is not available: use + - * / // % or **")

    def _check_unaryop(self, node: ast.UnaryOp) -> None:
        if not isinstance(node.op, UNARY_OPERATORS):
            self._fail(node, "'~' is not available: use - or not")

    def _check_compare(self, node: ast.Compare) -> None:
        for operator in node.ops:
            if isinstance(operator, (ast.Is, ast.IsNot)):
                self._fail(node, "'is' is not available: use == or != (for example x == null)")

    def _check_call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute):
            self._refuse_private(node, node.func.attr)
            self._fail(node, f"'.{node.func.attr}()' is not allowed: call functions by name, "
                             f"for example {node.func.attr}(x) instead of x.{node.func.attr}()")
        if not isinstance(node.func, ast.Name):
            self._fail(node, "only functions can be called, by name, for example upper(x)")
        name = node.func.id
        for keyword in node.keywords:
            self._remember_span(keyword)
            self._check_keyword(keyword)
        if name not in FUNCTIONS:
            self._fail(node, f"unknown function '{name}'{did_you_mean(name, FUNCTIONS)}")
        problem = FUNCTIONS[name].argument_problem(name, len(node.args), [k.arg or "" for k in node.keywords])
        if problem:
            self._fail(node, problem)

    def _refuse_private(self, node: ast.AST, name: str) -> None:
        if name.startswith("_"):
            self._fail(node, f"names starting with '_' are not allowed ('{name}')")
