"""Control steps: plain loops, conditions, sub-flows, and business exceptions."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from bastidor.actions.base import Params
from bastidor.actions.registry import action
from bastidor.executor.errors import BusinessException, StepError
from bastidor.flow.model import NAME_PATTERN
from bastidor.flow.types import ExpressionText, Text


class ForEachParams(Params):
    """Repeat steps for each row of a list: a plain loop (for work items, see `for_each_item`)."""

    moved_keys: ClassVar[dict[str, str]] = dict.fromkeys(
        ("item_ref", "on_error", "max_attempts", "retry_wait", "deadline"),
        "for_each is a plain loop now; to make each row a work item (referenced, counted, retried and queued "
        "by the service), write for_each_item: instead of for_each: (see 'Items' in docs/flow-language.md)")
    """Settings that belonged to for_each when it also made work items, and where they went."""

    items: ExpressionText = Field(alias="for_each", description="The list, e.g. \"{{ rows }}\".")
    as_: str = Field("row", alias="as", pattern=NAME_PATTERN, description="Name of the loop variable.")
    steps: list[Any] = Field(description="Steps to run for each row.")


@action("for_each", params=ForEachParams, kind="control", shorthand="for_each", blocks=("steps",),
        describe=lambda w: f"For each {w['as']:plain} in {w['for_each']}")
def for_each(ctx, params):
    """Run the nested steps once per row; a failing row stops the loop (use for_each_item for work items)."""
    rows = ctx.render(params.items)
    if not isinstance(rows, list):
        raise StepError(f"for_each needs a list, got {type(rows).__name__}: {params.items}")
    for index, row in enumerate(rows, 1):
        ctx.set_variable(params.as_, row)
        ctx.set_variable("index", index)
        ctx.run_block(ctx.node.blocks["steps"], f"[{index}]")
    return {"rows": len(rows)}


class IfParams(Params):
    """Run `then` steps when a condition holds, otherwise the `else` steps."""

    condition: ExpressionText = Field(alias="if", description="A condition, e.g. \"{{ total > 1000 }}\".")
    then: list[Any] = Field(description="Steps when the condition is true.")
    else_: list[Any] = Field(default_factory=list, alias="else", description="Steps when it is false.")


@action("if", params=IfParams, kind="control", shorthand="if", blocks=("then", "else"), describe="If {if}")
def if_step(ctx, params):
    """Choose between two sets of steps by a condition."""
    value = ctx.render(params.condition)
    if not isinstance(value, bool):
        raise StepError(f"the condition must be true or false, got {value!r}: {params.condition}")
    branch = "then" if value else "else"
    if ctx.node.blocks.get(branch):
        ctx.run_block(ctx.node.blocks[branch], branch)
    return {"branch": branch}


class CallParams(Params):
    """Run another flow file with inputs; its `outputs` come back as variables."""

    flow: str = Field(alias="call", description="The flow file, relative to this flow's folder.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Inputs for the called flow.")


@action("call", params=CallParams, kind="control", shorthand="call",
        describe=lambda w: f"Run the steps of {w['call']:plain}"
        + (" with " + w.listing("{key} = {value}", of="inputs") if w.raw("inputs") else ""))
def call(ctx, params):
    """Run a sub-flow with inputs and take back its outputs."""
    from bastidor.executor.context import Scope
    from bastidor.executor.engine import run_block
    from bastidor.executor.inputs import resolve_inputs
    from bastidor.expr.taint import contains_taint, taint

    callee = ctx.node.callee
    given = {name: ctx.render(value) for name, value in params.inputs.items()}
    inputs = resolve_inputs(callee.header, callee.path.parent, given)
    inputs = {name: taint(value) if contains_taint(given.get(name)) else value for name, value in inputs.items()}
    scope = Scope(callee, inputs, item=ctx.scope.item)
    run_block(ctx.state, scope, callee.steps, f"{ctx.path}>")
    for name in callee.header.outputs:
        ctx.set_variable(name, scope.variables.get(name))


class FailItemParams(Params):
    """Stop the current item with a business reason; the loop goes on with the next item."""

    reason: Text = Field(alias="fail_item", description="Why the item failed, e.g. \"Out of stock\".")


@action("fail_item", params=FailItemParams, kind="control", shorthand="fail_item",
        describe="Stop this item as a business exception: {fail_item}")
def fail_item(ctx, params):
    """Fail the current item with a business exception (not retried)."""
    raise BusinessException(str(ctx.render(params.reason)))
