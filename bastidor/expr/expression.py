"""Compiling expression text once into a checked tree, and evaluating that tree against variables."""

from __future__ import annotations

import ast
import datetime
import re
import warnings
from collections.abc import Mapping
from decimal import localcontext
from functools import lru_cache
from typing import Any

from bastidor.expr.checker import Checker, Positions
from bastidor.expr.errors import ExpressionSyntaxError
from bastidor.expr.evaluator import Evaluator
from bastidor.expr.limits import DECIMAL_CONTEXT, MAX_EXPRESSION_LENGTH

_DETECTED_AT = re.compile(r"\s*\(detected at line \d+\)")
_FIELD_BEFORE_SPACE = re.compile(r"([A-Za-z]\w*(?:\.[A-Za-z]\w*|\[[^\]]*\])*)\.([A-Za-z]\w*)[ \t]+$")
_WORDS_AFTER_SPACE = re.compile(r"[A-Za-z]\w*(?:[ \t]+[A-Za-z]\w*)*")
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "if", "else"})


class Expression:
    """A checked, parsed expression: evaluate it as often as needed, against different variables."""

    def __init__(self, source: str, tree: ast.Expression, names: frozenset[str], positions: Positions,
                 size: int = 1):
        self.source = source
        self._tree = tree
        self._names = names
        self._positions = positions
        self.size = size

    @property
    def tree(self) -> ast.Expression:
        """The checked tree (for an evaluator that runs it, such as the one of a row expression)."""
        return self._tree

    @property
    def positions(self) -> Positions:
        """The character span of each node of the tree, for error offsets."""
        return self._positions

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
    return Expression(text, tree, frozenset(checker.names), checker.positions, checker.size)


def _parse(body: str, lead: int) -> ast.Expression:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "\d" in a pattern is kept as written, not a warning for analysts
            return ast.parse(body, mode="eval")
    except SyntaxError as error:
        offset = error.offset if error.lineno == 1 and error.offset and error.offset <= len(body) else 0
        at_end = offset == 0
        position = len(body.rstrip()) if at_end else offset - 1
        spaced = _spaced_field(body, position)
        if spaced is not None:
            raise ExpressionSyntaxError(spaced[0], lead + spaced[1]) from None
        raise ExpressionSyntaxError(_syntax_message(error.msg, body, position, at_end), lead + position) from None
    except (RecursionError, MemoryError):
        raise ExpressionSyntaxError("the expression is nested too deeply: split it into smaller steps", lead) from None
    except ValueError:
        raise ExpressionSyntaxError("the expression contains characters that cannot be read", lead) from None


def _spaced_field(body: str, position: int) -> tuple[str, int] | None:
    """For `person.First Name`: the message suggesting person['First Name'] and where the field starts."""
    before = _FIELD_BEFORE_SPACE.search(body[:position])
    after = _WORDS_AFTER_SPACE.match(body, position)
    if before is None or after is None:
        return None
    words = after.group(0).split()
    while words and words[-1] in _KEYWORDS:
        words.pop()
    if not words or any(word in _KEYWORDS for word in words):
        return None
    field = " ".join([before.group(2), *words])
    return (f"a field name with spaces must be written in brackets: {before.group(1)}['{field}']",
            before.start(2))


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
