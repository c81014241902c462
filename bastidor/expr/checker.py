"""Rejects, before anything runs, every construct an expression may not use, and collects the names it reads."""

from __future__ import annotations

import ast
from decimal import Decimal
from typing import Callable

from bastidor.expr.call_checks import CallProblem, check_call, keep_patterns_as_written
from bastidor.expr.errors import ExpressionSyntaxError, did_you_mean
from bastidor.expr.filters import filter_message, is_filter
from bastidor.expr.functions import CONSTANT_NAMES, FUNCTIONS
from bastidor.expr.kinds import comparison_problem, membership_problem
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
        self.size = 0

    def check(self, tree: ast.Expression) -> None:
        """Validate `tree`, raising ExpressionSyntaxError at the first node that is not allowed."""
        pending: list[tuple[ast.AST, int]] = [(tree.body, 1)]
        count = 0
        while pending:
            node, depth = pending.pop()
            count += 1
            self.size = count
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

    def _fail(self, node: ast.AST, message: str, inside: int = 0) -> None:
        offset = self.positions.get(id(node), (None, None))[0]
        raise ExpressionSyntaxError(message, None if offset is None else offset + inside)

    def _source_of(self, node: ast.AST) -> str:
        """The text of `node` as written (from its first to its last character, operators included)."""
        start = self._char_offset(node.col_offset)
        end = self._char_offset(node.end_col_offset) if node.end_col_offset is not None else start
        return self._source[start:end]

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
        if is_filter(node):
            self._fail(node, filter_message(node, self._source_of))
        if type(node.op) not in BINARY_OPERATORS:
            self._fail(node, "this operator is not available: use + - * / // % or **")

    def _check_unaryop(self, node: ast.UnaryOp) -> None:
        if not isinstance(node.op, UNARY_OPERATORS):
            self._fail(node, "'~' is not available: use - or not")

    def _check_compare(self, node: ast.Compare) -> None:
        for operator in node.ops:
            if isinstance(operator, (ast.Is, ast.IsNot)):
                self._fail(node, "'is' is not available: use == or != (for example x == null)")
        operands = [node.left, *node.comparators]
        for left, operator, right in zip(operands, node.ops, operands[1:]):
            problem = (membership_problem(left, right) if isinstance(operator, (ast.In, ast.NotIn))
                       else comparison_problem(left, operator, right, self._source_of))
            if problem:
                self._fail(node, problem)

    def _check_call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute):
            self._check_method_call(node, node.func)
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
        self._check_arguments(name, node)

    def _check_arguments(self, name: str, node: ast.Call) -> None:
        """Constant arguments that cannot work (see `call_checks`); names read by a row expression."""
        for child in ast.walk(node):
            self._remember_span(child)
        keep_patterns_as_written(name, node, self._source_of)
        try:
            self.names |= check_call(name, node)
        except CallProblem as problem:
            self._fail(problem.node, problem.message, problem.inside)

    def _check_method_call(self, node: ast.Call, method: ast.Attribute) -> None:
        """`x.upper()`: refused, naming the function to call instead, and only one that exists."""
        for part in ast.walk(method):
            self._remember_span(part)
            name = getattr(part, "id", None) or getattr(part, "attr", None)
            if isinstance(name, str) and name.startswith("_"):
                self._fail(part, f"names starting with '_' are not allowed ('{name}')")
        if method.attr in FUNCTIONS:
            arguments = ", ".join([self._source_of(method.value), *map(self._source_of, node.args)])
            self._fail(node, f"'.{method.attr}()' is not allowed: call functions by name, for example "
                             f"{method.attr}({arguments}) instead of {self._source_of(node)}")
        hint = did_you_mean(method.attr, FUNCTIONS)
        hint = f": call functions by name{hint.replace(', did you mean', '; did you mean')}" if hint else \
            ": call functions by name, for example upper(x); the functions are listed in the flow language guide"
        self._fail(node, f"'.{method.attr}()' is not allowed{hint}")

    def _refuse_private(self, node: ast.AST, name: str) -> None:
        if name.startswith("_"):
            self._fail(node, f"names starting with '_' are not allowed ('{name}')")
