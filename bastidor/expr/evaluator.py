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
from bastidor.expr.functions import CONSTANTS, FUNCTIONS
from bastidor.expr.sizes import SizeGuard
from bastidor.expr.taint import contains_taint, is_tainted, spread, taint
from bastidor.expr.values import describe, require_whole

_NOT_EVALUATED = (ast.Assign, ast.AugAssign, ast.Import, ast.Expr, ast.JoinedStr, ast.FormattedValue, ast.Tuple,
                  ast.Set, ast.ListComp, ast.GeneratorExp, ast.DictComp)
_DATE_PARTS = ("year", "month", "day")
_SHOWN_KEY_LENGTH = 60


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
    comparisons give plain true/false.
    """

    def __init__(self, variables: Mapping[str, Any], positions: Positions, *, today: datetime.date | None):
        self._guard = SizeGuard()
        self._positions = positions
        self._today = today
        super().__init__(operators=self._operator_table(), names=variables)
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
        """Containers are not searched: nothing inside them can be reached except through record fields."""
        if not isinstance(item, (list, tuple, Mapping)):
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
            return _field(value, node.attr)
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
            return _field(container, key)
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
        function = self.functions[node.func.id]
        arguments = [self._eval(argument) for argument in node.args]
        keywords = {keyword.arg: self._eval(keyword.value) for keyword in node.keywords}
        result = function(*arguments, **keywords)
        if contains_taint(arguments) or (keywords and contains_taint(keywords)):
            return taint(result)
        return result

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


def _field(record: Mapping, key: Any) -> Any:
    """`record[key]`, or an error naming the missing field and the nearest existing one."""
    try:
        if key in record:
            return record[key]
    except TypeError:
        raise ExpressionEvalError(f"record keys are text or numbers, not {describe(key)}") from None
    if is_tainted(key):
        raise ExpressionEvalError("the record has no field of that name (the name was computed from a secret, "
                                  "so it is not shown)")
    shown = str(key)[:_SHOWN_KEY_LENGTH]
    hint = did_you_mean(shown, [name for name in record if not is_tainted(name)]) if isinstance(key, str) else ""
    raise ExpressionEvalError(f"the record has no field '{shown}'{hint}")


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
