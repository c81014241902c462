"""Row expressions: an expression written as text, run once for each item of a list with the item named `row`.

filter, map, any, all, count and add_column take one. The row expression is checked like any expression (the
same sandbox, functions and limits); it may also use the flow's variables. Together, the row expressions of one
evaluation may do a bounded amount of work and build a bounded amount of text, so a filter inside a filter over
big tables fails with a plain error instead of running for hours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from bastidor.expr.errors import ExpressionEvalError, ExpressionSyntaxError
from bastidor.expr.limits import MAX_ROW_RESULT_CHARACTERS, MAX_ROW_STEPS
from bastidor.expr.values import describe, quoted

ROW_NAME = "row"
"""The name the current item has inside a row expression."""

ROW_OVERHEAD_STEPS = 10
"""What running a row expression once costs besides its parts, in the same steps as MAX_ROW_STEPS."""

EvaluatorFactory = Callable[[Mapping[str, Any], Any], Any]


class RowScope(Mapping):
    """The names a row expression sees: `row`, the current item, then the variables of the expression around it."""

    def __init__(self, variables: Mapping[str, Any]):
        self.row: Any = None
        self._variables = variables

    def __getitem__(self, name: str) -> Any:
        return self.row if name == ROW_NAME else self._variables[name]

    def __contains__(self, name: object) -> bool:
        return name == ROW_NAME or name in self._variables

    def __iter__(self) -> Iterator[str]:
        yield ROW_NAME
        yield from (name for name in self._variables if name != ROW_NAME)

    def __len__(self) -> int:
        return len(self._variables) + (0 if ROW_NAME in self._variables else 1)


class RowBudget:
    """The work and the text that all the row expressions of one evaluation may use together."""

    def __init__(self) -> None:
        self.steps = 0
        self.characters = 0

    def spend_steps(self, function: str, steps: int) -> None:
        """Count one run of a row expression of `steps` parts; fails once the evaluation did too much work."""
        self.steps += steps
        if self.steps > MAX_ROW_STEPS:
            raise ExpressionEvalError(
                f"{function}(): the row expressions would do too much work (more than {MAX_ROW_STEPS:,} steps): "
                "use a shorter list, or a simpler row expression, or split the work into several steps")

    def spend_characters(self, function: str, value: Any) -> None:
        """Count the text held in a value built by a row expression; fails once there is too much."""
        self.characters += _characters(value, MAX_ROW_RESULT_CHARACTERS - self.characters + 1)
        if self.characters > MAX_ROW_RESULT_CHARACTERS:
            raise ExpressionEvalError(f"{function}(): the results would hold more than "
                                      f"{MAX_ROW_RESULT_CHARACTERS:,} characters of text")


class RowRunner:
    """Runs row expressions for one evaluation, with its variables, its budget and evaluators like its own."""

    def __init__(self, make_evaluator: EvaluatorFactory, variables: Mapping[str, Any], budget: RowBudget):
        self._make_evaluator = make_evaluator
        self._variables = variables
        self.budget = budget

    def results(self, function: str, items: list | tuple, text: Any) -> Iterator[tuple[int, Any, Any]]:
        """(position from 1, item, value of the row expression `text` for that item), item after item."""
        expression = compile_row_expression(function, text, running=True)
        scope = RowScope(self._variables)
        evaluator = self._make_evaluator(scope, expression.positions)
        for position, item in enumerate(items, 1):
            self.budget.spend_steps(function, expression.size + ROW_OVERHEAD_STEPS)
            scope.row = item
            try:
                value = evaluator.run(expression.source, expression.tree.body)
            except ExpressionEvalError as error:
                raise ExpressionEvalError(f"{function}(): row {position}: {error.message}") from None
            yield position, item, value

    def truths(self, function: str, items: list | tuple, condition: Any) -> Iterator[tuple[Any, bool]]:
        """(item, whether the condition holds for it), item after item."""
        for position, item, value in self.results(function, items, condition):
            yield item, truth(function, position, value)


def compile_row_expression(function: str, text: Any, *, running: bool = False) -> Any:
    """The checked row expression, or an error naming `function` (an ExpressionEvalError while running)."""
    from bastidor.expr.expression import compile_expression  # here: expression.py imports the evaluator

    failure = ExpressionEvalError if running else ExpressionSyntaxError
    if not isinstance(text, str):
        raise failure(f'{function}() needs its row expression as text in quotes, for example {function}(rows, '
                      f'"row.Due > 100"), not {describe(text)}')
    if text.strip().startswith("{{"):
        raise failure(f"{function}(): write the row expression without {{{{ }}}}, for example "
                      f'{function}(rows, "row.Due > 100")', text.find("{{"))
    try:
        return compile_expression(text)
    except ExpressionSyntaxError as error:
        shown = f" {quoted(text)}" if running else ""
        raise failure(f"{function}(): the row expression{shown} is not valid: {error.message}",
                      error.offset) from None


def truth(function: str, position: int, value: Any) -> bool:
    """The true/false a condition gave for row `position` (null counts as false), or an error."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    raise ExpressionEvalError(f"{function}(): row {position}: the condition gave {describe(value)}, not true or "
                              "false: compare it, for example row.Due > 0 or row.Status == 'Open'")


def _characters(value: Any, limit: int) -> int:
    """Characters of text inside `value` (list items, record keys and fields), counted up to `limit`."""
    total = 0
    pending = [value]
    while pending and total < limit:
        current = pending.pop()
        if isinstance(current, str):
            total += len(current)
        elif isinstance(current, (list, tuple)):
            pending.extend(current)
        elif isinstance(current, Mapping):
            pending.extend(current.keys())
            pending.extend(current.values())
    return total
