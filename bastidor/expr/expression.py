"""Compiling expression text once into a checked tree, and evaluating that tree against variables."""

from __future__ import annotations

import ast
import datetime
import re
from collections.abc import Mapping
from decimal import localcontext
from functools import lru_cache
from typing import Any

from bastidor.expr.checker import Checker, Positions
from bastidor.expr.errors import ExpressionSyntaxError
from bastidor.expr.evaluator import Evaluator
from bastidor.expr.limits import DECIMAL_CONTEXT, MAX_EXPRESSION_LENGTH

_DETECTED_AT = re.compile(r"\s*\(detected at line \d+\)")


class Expression:
    """A checked, parsed expression: evaluate it as often as needed, against different variables."""

    def __init__(self, source: str, tree: ast.Expression, names: frozenset[str], positions: Positions):
        self.source = source
        self._tree = tree
        self._names = names
        self._positions = positions

    def names(self) -> set[str]:
        """The root variable names the expression reads (not functions, not true/false/null)."""
        return set(self._names)

    def evaluate(self, variables: Mapping[str, Any], *, today: datetime.date | None = None) -> Any:
        """The value of the expression for these variables; `today` fixes what today() returns."""
        evaluator = Evaluator(variables, self._positions, today=today)
        with localcontext(DECIMAL_CONTEXT):
            return evaluator.run(self.source, self._tree.body)

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


@lru_cache(maxsize=4096)
def compile_expression(text: str) -> Expression:
    """Parse and check `text` once; raises ExpressionSyntaxError (with the offset) when it cannot be used."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionSyntaxError(
            f"the expression is longer than {MAX_EXPRESSION_LENGTH:,} characters: split it into smaller steps",
            MAX_EXPRESSION_LENGTH)
    one_line = text.replace("\r", " ").replace("\n", " ")
    body = one_line.lstrip(" \t\f")
    lead = len(one_line) - len(body)
    if not body.strip():
        raise ExpressionSyntaxError("the expression is empty", len(text))
    tree = _parse(body, lead)
    checker = Checker(_char_offsets(body, lead), one_line)
    checker.check(tree)
    return Expression(text, tree, frozenset(checker.names), checker.positions)


def _parse(body: str, lead: int) -> ast.Expression:
    try:
        return ast.parse(body, mode="eval")
    except SyntaxError as error:
        offset = error.offset if error.lineno == 1 and error.offset and error.offset <= len(body) else 0
        at_end = offset == 0
        position = len(body.rstrip()) if at_end else offset - 1
        raise ExpressionSyntaxError(_syntax_message(error.msg, body, position, at_end), lead + position) from None
    except (RecursionError, MemoryError):
        raise ExpressionSyntaxError("the expression is nested too deeply: split it into smaller steps", lead) from None
    except ValueError:
        raise ExpressionSyntaxError("the expression contains characters that cannot be read", lead) from None


def _syntax_message(message: str, body: str, position: int, at_end: bool) -> str:
    if message != "invalid syntax":
        return _DETECTED_AT.sub("", message)
    if at_end:
        return "the expression is incomplete: something is missing at the end"
    if body[position:position + 1] == "=" and body[position + 1:position + 2] != "=":
        return "'=' cannot be used here: write == to compare two values"
    return "this part of the expression is not valid"


def _char_offsets(body: str, lead: int):
    """A function from a UTF-8 byte column of `body` (as `ast` reports it) to a character offset in the text."""
    table: list[int] = []
    for index, char in enumerate(body):
        table.extend([index] * len(char.encode("utf-8")))
    table.append(len(body))
    return lambda column: lead + table[min(column, len(table) - 1)]
