"""simpleeval's evaluator narrowed to Bastidor's language: exact numbers, plain-word errors, bounded sizes,
and taint: whatever is computed from a secret stays marked as such (see `bastidor.expr.taint`)."""

from __future__ import annotations

import ast
import datetime
import decimal
from collections.abc import Mapping
from typing import Any

from simpleeval import EvalWithCompoundTypes, InvalidExpression

from bastidor.expr import arithmetic, comparisons
from bastidor.expr.checker import Positions
from bastidor.expr.errors import ExpressionEvalError, did_you_mean
from bastidor.expr.functions import CONSTANTS, FUNCTIONS, Function
from bastidor.expr.records import field_of
from bastidor.expr.rows import RowBudget, RowRunner
from bastidor.expr.sizes import SizeGuard
from bastidor.expr.taint import (
    TaintedDate, TaintedDateTime, TaintedDecimal, TaintedInt, TaintedText, contains_taint, is_tainted, spread, taint,
)
from bastidor.expr.values import describe, require_whole

_NOT_EVALUATED = (ast.Assign, ast.AugAssign, ast.Import, ast.Expr, ast.JoinedStr, ast.FormattedValue, ast.Tuple,
                  ast.Set, ast.ListComp, ast.GeneratorExp, ast.DictComp)
_DATE_PARTS = ("year", "month", "day")
_PLAIN_VALUE_TYPES = frozenset({
    bool, int, float, str, decimal.Decimal, type(None), datetime.date, datetime.datetime, list, tuple, dict,
    TaintedText, TaintedInt, TaintedDecimal, TaintedDate, TaintedDateTime,
})


def _spreading(operation: Any) -> Any:
    """`operation` whose result is tainted when one of its operands is."""

    def run(*operands: Any) -> Any:
        return spread(operation(*operands), *operands)

    run.__doc__ = operation.__doc__
    return run


_SPREADING_OPERATORS = {
    ast.Sub: _spreading(arithmetic.subtract), ast.Div: _spreading(arithmetic.divide),
    ast.FloorDiv: _spreading(arithmetic.floor_divide), ast.Mod: _spreading(arithmetic.modulo),
    ast.Pow: _spreading(arithmetic.power), ast.USub: _spreading(arithmetic.negate),
    ast.UAdd: _spreading(arithmetic.positive),
}
_COMPARING_OPERATORS = {
    ast.Not: comparisons.logical_not, ast.Eq: comparisons.equals, ast.NotEq: comparisons.not_equals,
    ast.Lt: comparisons.less, ast.LtE: comparisons.less_or_equal, ast.Gt: comparisons.greater,
    ast.GtE: comparisons.greater_or_equal, ast.In: comparisons.is_in, ast.NotIn: comparisons.is_not_in,
}


class Evaluator(EvalWithCompoundTypes):
    """Evaluates one checked expression tree against one set of variables.

    Only nodes the checker allowed reach it. Names resolve to constants then variables; `a.b` and `a["b"]`
    read record fields; calls go only to the function table; every failure becomes an ExpressionEvalError
    carrying the offset of the innermost part that failed. A call, an operator, a slice or an index that
    involves a tainted value gives a tainted result; reading a record field gives the field's own value;
    comparisons give plain true/false. Row expressions (filter, map ...) run in evaluators made like this one,
    sharing its budget.
    """

    def __init__(self, variables: Mapping[str, Any], positions: Positions, *, today: datetime.date | None,
                 budget: RowBudget | None = None):
        self._guard = SizeGuard()
        self._positions = positions
        self._today = today
        super().__init__(operators=self._operator_table(), names=variables)
        self._rows = RowRunner(self._row_evaluator, variables, budget or RowBudget())
        self.functions = {name: function.implementation for name, function in FUNCTIONS.items()}
        self.functions["today"] = self._current_date
        for node_type in _NOT_EVALUATED:
            self.nodes.pop(node_type, None)

    def run(self, source: str, body: ast.expr) -> Any:
        """The value of the parsed expression `body` (whose text is `source`)."""
        return self.eval(source, previously_parsed=body)

    def _operator_table(self) -> dict[type, Any]:
        return {ast.Add: self._add, ast.Mult: self._multiply, **_SPREADING_OPERATORS, **_COMPARING_OPERATORS}

    def _current_date(self) -> datetime.date:
        return self._today or datetime.date.today()

    def _row_evaluator(self, variables: Mapping[str, Any], positions: Positions) -> "Evaluator":
        return Evaluator(variables, positions, today=self._today, budget=self._rows.budget)

    def _eval(self, node: ast.AST) -> Any:
        try:
            result = super()._eval(node)
        except ExpressionEvalError as error:
            if error.offset is None:
                error.offset = self._positions.get(id(node), (None,))[0]
            raise
        except Exception as error:  # noqa: BLE001 - every other failure is reported in plain words
            raise ExpressionEvalError(_plain_message(error), self._positions.get(id(node), (None,))[0]) from None
        return decimal.Decimal(str(result)) if type(result) is float else result

    def _check_disallowed_items(self, item: Any) -> None:
        """Containers are not searched: nothing inside them can be reached except through record fields.
        Plain values (numbers, text, dates, lists, records) are let through at once, as they are the most part."""
        if type(item) not in _PLAIN_VALUE_TYPES and not isinstance(item, (list, tuple, Mapping)):
            super()._check_disallowed_items(item)

    def _add(self, left: Any, right: Any) -> Any:
        lists = isinstance(left, (list, tuple)), isinstance(right, (list, tuple))
        if all(lists):
            return self._guard.concat(left, right)
        if any(lists):
            raise arithmetic.mismatch("add", left, right)
        return spread(arithmetic.add(left, right), left, right)

    def _multiply(self, left: Any, right: Any) -> Any:
        if isinstance(left, (list, tuple)):
            return self._guard.repeat(left, right)
        if isinstance(right, (list, tuple)):
            return self._guard.repeat(right, left)
        return spread(arithmetic.multiply(left, right), left, right)

    def _eval_name(self, node: ast.Name) -> Any:
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in self.names:
            return self.names[node.id]
        if node.id in FUNCTIONS:
            raise ExpressionEvalError(f"'{node.id}' is a function: call it with brackets, e.g. "
                                      f"{FUNCTIONS[node.id].usage}")
        raise ExpressionEvalError(f"unknown name '{node.id}'{did_you_mean(node.id, self.names)}")

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        value = self._eval(node.value)
        if isinstance(value, Mapping):
            return field_of(value, node.attr)
        if isinstance(value, datetime.date):
            if node.attr in _DATE_PARTS:
                return spread(getattr(value, node.attr), value)
            raise ExpressionEvalError(f"a date has only .year, .month and .day, not .{node.attr}")
        raise ExpressionEvalError(f"cannot read .{node.attr} from {describe(value)}: only records have fields")

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        container = self._eval(node.value)
        key = self._eval(node.slice)
        value = self._item(container, key)
        if is_tainted(container) or _key_is_tainted(key):
            return taint(value)
        return value

    def _item(self, container: Any, key: Any) -> Any:
        if isinstance(container, Mapping):
            return field_of(container, key)
        if not isinstance(container, (str, list, tuple)):
            raise ExpressionEvalError(f"cannot use [...] on {describe(container)}")
        if isinstance(key, slice):
            return container[key]
        index = require_whole(key, "a position in [...]")
        if not -len(container) <= index < len(container):
            raise ExpressionEvalError(_outside(container, index))
        return container[index]

    def _eval_slice(self, node: ast.Slice) -> slice:
        parts = [None if part is None else self._position(part) for part in (node.lower, node.upper, node.step)]
        if parts[2] == 0:
            raise ExpressionEvalError("the step in [from:to:step] cannot be 0")
        return slice(*parts)

    def _position(self, node: ast.expr) -> int:
        value = self._eval(node)
        return spread(require_whole(value, "a position in [from:to]"), value)

    def _eval_call(self, node: ast.Call) -> Any:
        name = node.func.id
        implementation, function = self.functions[name], FUNCTIONS[name]
        arguments = [self._eval(argument) for argument in node.args]
        keywords = {keyword.arg: self._eval(keyword.value) for keyword in node.keywords}
        result = implementation(self._rows, *arguments, **keywords) if function.rows else \
            implementation(*arguments, **keywords)
        return _call_taint(function, result, arguments, keywords)

    def _eval_list(self, node: ast.List) -> list:
        items = [self._eval(item) for item in node.elts]
        return self._guard.built(items, items)

    def _eval_dict(self, node: ast.Dict) -> dict:
        record: dict = {}
        for key_node, value_node in zip(node.keys, node.values):
            key = self._eval(key_node)
            if isinstance(key, (list, tuple, Mapping)):
                raise ExpressionEvalError("record keys must be text or numbers")
            record[key] = self._eval(value_node)
        return self._guard.built(record, list(record.values()))


def _call_taint(function: Function, result: Any, arguments: list, keywords: dict) -> Any:
    """The result of a call, tainted when an argument is; a function that only picks or reorders the items of
    its list keeps each item's own taint, unless one of its other arguments (a field name, a condition) is
    tainted."""
    watched = arguments[1:] if function.selects else arguments
    if contains_taint(watched) or (keywords and contains_taint(keywords)):
        return taint(result)
    return result


def _key_is_tainted(key: Any) -> bool:
    if isinstance(key, slice):
        return is_tainted(key.start) or is_tainted(key.stop) or is_tainted(key.step)
    return is_tainted(key)


def _outside(container: str | list | tuple, index: int) -> str:
    """Why `index` cannot be read from `container`; positions and lengths computed from a secret are not shown."""
    if is_tainted(container) or is_tainted(index):
        return "the position is outside the text or list (computed from a secret, so neither is shown)"
    return f"position {index} is outside the {_measure(container)} (the first position is 0)"


def _measure(container: str | list | tuple) -> str:
    kind, unit = ("text", "character") if isinstance(container, str) else ("list", "item")
    return f"{kind}, which has {len(container)} {unit}{'' if len(container) == 1 else 's'}"


def _plain_message(error: Exception) -> str:
    """A sentence for a failure that was not already reported in plain words."""
    if isinstance(error, (ZeroDivisionError, decimal.DivisionByZero)):
        return "division by zero"
    if isinstance(error, decimal.Overflow):
        return "the number is too large"
    if isinstance(error, decimal.InvalidOperation):
        return "this calculation has no valid result (a number may be too large, too precise or not a number)"
    if isinstance(error, (RecursionError, MemoryError)):
        return "the expression needs too much work: simplify it or split it into steps"
    if isinstance(error, InvalidExpression):
        return "this is not allowed in expressions"
    return f"this part of the expression could not be worked out ({type(error).__name__})"
