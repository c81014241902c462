"""`assert`: a check the flow makes on its own values; false fails the step, or the item as a business exception.

    - assert: "{{ total == expected_total }}"
      message: "Total {{ total }} differs from the order's {{ expected_total }}"
    - assert: "{{ order.quantity <= 100 }}"
      message: Quantity above the limit of 100
      business: true                      # inside a for_each_item: fail the item, not the step

The failure names the check and the values it read, e.g. "Quantity above the limit of 100 (check:
order.quantity <= 100, with order.quantity = 150)"; values computed from a secret are shown as ***.
"""

from __future__ import annotations

import ast
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from bastidor.actions.base import Params
from bastidor.actions.registry import action
from bastidor.actions.wording import lone_expression
from bastidor.audit.masking import MASK
from bastidor.executor.errors import AssertionFailed, BusinessException, StepError
from bastidor.expr import CONSTANT_NAMES, ExpressionError, to_text
from bastidor.expr.taint import contains_taint
from bastidor.flow.types import ExpressionText, Text

MAX_VALUES_SHOWN = 6
MAX_VALUE_TEXT = 80


def _one_condition(value: str) -> str:
    if lone_expression(value) is None:
        raise ValueError("write one condition inside a single {{ }}, e.g. \"{{ total > 0 and paid }}\"")
    return value


Condition = Annotated[ExpressionText, AfterValidator(_one_condition)]
"""A condition written as one `{{ expression }}` that gives true or false."""


class AssertParams(Params):
    """Check a condition on the flow's values; when it is false, fail the step (or the item)."""

    condition: Condition = Field(alias="assert", description="The condition that must hold, e.g. "
                                 "\"{{ total == expected_total }}\".")
    message: Text | None = Field(None, description="What is wrong when the check fails; may use {{ }}.")
    business: bool = Field(False, description="true: a false check fails the current work item as a business "
                           "exception (never retried) instead of failing the step. Only inside a for_each_item.")


def _describe(w: Any) -> str:
    failure = "fail the item as a business exception" if w.raw("business") else "fail the step"
    message = f": {w['message']}" if w.has("message") else ""
    return f"Check that {w['assert']}; otherwise {failure}{message}"


@action("assert", params=AssertParams, kind="control", shorthand="assert", describe=_describe)
def assert_step(ctx, params):
    """Check a condition on the flow's values: false fails the step, or with business: true the item."""
    value = ctx.render(params.condition)
    expression = lone_expression(params.condition) or params.condition
    if not isinstance(value, bool):
        raise StepError(f"assert needs a condition that is true or false; {expression} gave "
                        f"{shown_value(ctx, value)}: compare it, e.g. {{{{ {expression} == ... }}}}")
    if value:
        return {"check": expression, "holds": True}
    failure = _failure_text(ctx, params, expression)
    if params.business:
        if ctx.scope.item is None:
            raise StepError(f"{failure} (business: true needs a work item, and none is in hand)")
        raise BusinessException(failure)
    raise AssertionFailed(failure)


def _failure_text(ctx: Any, params: AssertParams, expression: str) -> str:
    """The analyst's message (rendered, masked) with the check and the values it read."""
    shown = _values_read(ctx, expression)
    check = expression + (f", with {shown}" if shown else "")
    if params.message is None:
        return f"check failed: {check}"
    message = ctx.state.masker.mask_text(to_text(ctx.render(params.message)))
    return f"{message} (check: {check})"


def _values_read(ctx: Any, expression: str) -> str:
    """`a = 1, b.c = 'x'` for the values the expression reads (fields as written), masked and shortened."""
    pairs = []
    for reference in references_in(expression)[:MAX_VALUES_SHOWN]:
        try:
            value = ctx.render("{{ " + reference + " }}")
        except ExpressionError:
            continue
        pairs.append(f"{reference} = {shown_value(ctx, value)}")
    return ", ".join(pairs)


def references_in(expression: str) -> list[str]:
    """The variables and fields an expression reads, as written and in order, once each: for
    `order.quantity * price <= limit(order)` that is ["order.quantity", "price", "order"]."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return []
    found: list[str] = []
    _collect(tree.body, found)
    return list(dict.fromkeys(found))


def _collect(node: ast.AST, found: list[str]) -> None:
    if _is_reference(node):
        found.append(ast.unparse(node))
        if isinstance(node, ast.Subscript):
            _collect(node.slice, found)
        return
    for name, child in ast.iter_fields(node):
        if isinstance(node, ast.Call) and name == "func":
            continue
        for item in child if isinstance(child, list) else [child]:
            if isinstance(item, ast.AST):
                _collect(item, found)


def _is_reference(node: ast.AST) -> bool:
    """A variable (not true/false/null), or a field or position of one: `order`, `order.total`, `codes[0]`."""
    if isinstance(node, ast.Name):
        return node.id not in CONSTANT_NAMES
    if isinstance(node, (ast.Attribute, ast.Subscript)):
        return _is_reference(node.value)
    return False


def shown_value(ctx: Any, value: Any) -> str:
    """A value as the failure message shows it: *** when it holds a secret, text quoted, at most 80 chars."""
    if contains_taint(value):
        return MASK
    if isinstance(value, bool) or value is None:
        text = {True: "true", False: "false", None: "null"}[value]
    else:
        masked = ctx.state.masker.mask(value)
        text = f"'{masked}'" if isinstance(masked, str) else to_text(masked)
    return text if len(text) <= MAX_VALUE_TEXT else text[:MAX_VALUE_TEXT - 3] + "..."
