"""Strings with `{{ expression }}` parts: parsing them once, their names, and rendering them."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bastidor.expr.errors import ExpressionError, ExpressionSyntaxError
from bastidor.expr.expression import Expression, compile_expression
from bastidor.expr.limits import MAX_EXPRESSION_LENGTH, MAX_TEXT_LENGTH
from bastidor.expr.taint import Tainted, TaintedText
from bastidor.expr.values import text_too_long, to_text

OPEN, CLOSE = "{{", "}}"


@dataclass(frozen=True)
class _Part:
    """One `{{ expression }}` part: the expression and where its inner text starts in the template."""

    expression: Expression
    start: int


class Template:
    """A string that may contain `{{ expression }}` parts, parsed once and rendered against variables."""

    def __init__(self, text: str, pieces: tuple[str | _Part, ...]):
        self.text = text
        self._pieces = pieces

    @staticmethod
    def parse(text: str) -> "Template":
        """Parse `text`; raises ExpressionSyntaxError with the offset in `text` for a bad or unclosed part."""
        return _parse_cached(text)

    @property
    def is_dynamic(self) -> bool:
        """Whether the text has at least one `{{ }}` part."""
        return any(isinstance(piece, _Part) for piece in self._pieces)

    def names(self) -> set[str]:
        """The root variable names read by all the parts."""
        return {name for piece in self._pieces if isinstance(piece, _Part) for name in piece.expression.names()}

    def render(self, variables: Mapping[str, Any], *, today: datetime.date | None = None) -> Any:
        """The value of a lone `{{ expr }}` (typed, e.g. a Decimal), otherwise the text with each part filled in.

        The text is tainted when any part's value was computed from a secret.
        """
        if not self.is_dynamic:
            return self.text
        single = self._single_part()
        if single is not None:
            return _evaluate(single, variables, today)
        pieces: list[str] = []
        filled = 0
        tainted = False
        for piece in self._pieces:
            pieces.append(piece if isinstance(piece, str) else to_text(_evaluate(piece, variables, today)))
            filled += 0 if isinstance(piece, str) else len(pieces[-1])
            tainted = tainted or isinstance(pieces[-1], Tainted)
            if filled > MAX_TEXT_LENGTH:
                raise text_too_long()
        text = "".join(pieces)
        return TaintedText(text) if tainted else text

    def _single_part(self) -> _Part | None:
        parts = [piece for piece in self._pieces if isinstance(piece, _Part)]
        literal = "".join(piece for piece in self._pieces if isinstance(piece, str))
        return parts[0] if len(parts) == 1 and not literal.strip() else None

    def __repr__(self) -> str:
        return f"Template({self.text!r})"


def _evaluate(part: _Part, variables: Mapping[str, Any], today: datetime.date | None) -> Any:
    try:
        return part.expression.evaluate(variables, today=today)
    except ExpressionError as error:
        raise error.shifted(part.start) from None


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Template:
    pieces: list[str | _Part] = []
    position = 0
    while (opening := text.find(OPEN, position)) != -1:
        if opening > position:
            pieces.append(text[position:opening])
        part, position = _read_part(text, opening)
        if text.startswith("}", position):
            raise ExpressionSyntaxError("a stray '}' follows '}}': remove it; if the text needs a '}' right after "
                                        "the value, write it as {{ '}' }}", position)
        pieces.append(part)
    if position < len(text):
        pieces.append(text[position:])
    return Template(text, tuple(pieces))


def _read_part(text: str, opening: int) -> tuple[_Part, int]:
    """The part opened at `opening` and the position after its `}}`.

    The part ends at the first `}}` that closes a valid expression, so `}}` inside quotes or nested
    records (`{{ {"a": {"b": 1}} }}`) does not end it early. When none does, the first candidate's error is raised.
    """
    start = opening + len(OPEN)
    first_error: ExpressionSyntaxError | None = None
    closing = text.find(CLOSE, start)
    while closing != -1:
        try:
            return _Part(_compile_inner(text[start:closing]), start), closing + len(CLOSE)
        except ExpressionSyntaxError as error:
            first_error = first_error or error.shifted(start)
        if closing - start > MAX_EXPRESSION_LENGTH:
            break
        closing = text.find(CLOSE, closing + 1)
    if first_error is not None:
        raise first_error
    raise ExpressionSyntaxError("'{{' is not closed: add '}}' after the expression", opening)


def _compile_inner(inner: str) -> Expression:
    if not inner.strip():
        raise ExpressionSyntaxError("there is no expression between '{{' and '}}'", 0)
    return compile_expression(inner)


def render_value(value: Any, variables: Mapping[str, Any], *, today: datetime.date | None = None) -> Any:
    """`value` with every string rendered as a Template, inside lists and dict values too (keys untouched)."""
    if isinstance(value, str):
        return Template.parse(value).render(variables, today=today)
    if isinstance(value, list):
        return [render_value(item, variables, today=today) for item in value]
    if isinstance(value, dict):
        return {key: render_value(item, variables, today=today) for key, item in value.items()}
    return value


def template_names(value: Any) -> set[str]:
    """Every root variable name read by the templates inside `value` (strings, lists and dict values)."""
    if isinstance(value, str):
        return Template.parse(value).names()
    if isinstance(value, list):
        return set().union(*(template_names(item) for item in value))
    if isinstance(value, dict):
        return set().union(*(template_names(item) for item in value.values()))
    return set()
