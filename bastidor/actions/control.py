"""Control steps: loops over items, conditions, sub-flows, and business exceptions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from bastidor.actions.base import Params
from bastidor.actions.registry import action
from bastidor.executor.errors import BusinessException, StepError
from bastidor.flow.model import NAME_PATTERN, OnError
from bastidor.flow.types import DurationMs, ExpressionText, Text


class ForEachParams(Params):
    """Repeat steps for each row of a list. At the top level, each row is a work item."""

    items: ExpressionText = Field(alias="for_each", description="The list, e.g. \"{{ orders }}\".")
    as_: str = Field("row", alias="as", pattern=NAME_PATTERN, description="Name of the loop variable.")
    item_ref: Text | None = Field(None, description="Each item's reference, e.g. \"{{ row.order_id }}\".")
    on_error: OnError = Field("continue", description="When an item fails: continue with the next, or stop.")
    max_attempts: int = Field(3, ge=1, le=20, description="Unattended runs: tries per item for application "
                              "errors (business exceptions are never retried).")
    retry_wait: DurationMs = Field(30_000, description="Unattended runs: wait before an item is tried again.")
    deadline: ExpressionText | None = Field(None, description="When each item must be done by, e.g. "
                                            "\"{{ order.due_date }}\"; an item not started by then fails.")
    steps: list[Any] = Field(description="Steps to run for each row.")


def item_deadline(ctx, params):
    """The current row's deadline as an aware UTC datetime, or None when the loop has none or the row
    gives none (an empty cell)."""
    from bastidor.actions.item_timing import as_moment

    value = ctx.render(params.deadline) if params.deadline else None
    if value is None or isinstance(value, str) and not value.strip():
        return None
    return as_moment(value, params.deadline, end_of_day=True)


def deadline_problem(ctx, params) -> tuple[str, str] | None:
    """Why the current row must not be processed because of its deadline, with the exception kind: its
    deadline passed (application), or its deadline cell cannot be read (business: a person fixes the row)."""
    try:
        deadline = item_deadline(ctx, params)
    except StepError as error:
        return f"its deadline cannot be read: {error}", "business"
    if deadline is not None and deadline < dt.datetime.now(dt.timezone.utc):
        return "deadline passed", "application"
    return None


@action("for_each", params=ForEachParams, kind="control", shorthand="for_each", blocks=("steps",),
        describe=lambda w: f"For each {w['as']:plain} in {w['for_each']}" + w.options(
            item_ref="item reference", on_error="on error", max_attempts="tries per item",
            retry_wait="wait before a retry"))
def for_each(ctx, params):
    """Run the nested steps once per row; failed items are recorded and the loop goes on."""
    rows = ctx.render(params.items)
    if not isinstance(rows, list):
        raise StepError(f"for_each needs a list, got {type(rows).__name__}: {params.items}")
    is_item_loop = ctx.scope.item is None
    if is_item_loop and params.item_ref and ctx.state.service is not None:
        from bastidor.executor.queued_items import run_queued_items

        return run_queued_items(ctx, params, rows)
    seen: dict[str, int] = {}
    for index, row in enumerate(rows, 1):
        ctx.set_variable(params.as_, row)
        ctx.set_variable("index", index)
        if is_item_loop:
            _one_item(ctx, params, index, row, seen)
        else:
            ctx.run_block(ctx.node.blocks["steps"], f"[{index}]")
    return {"rows": len(rows)}


def _one_item(ctx, params, index: int, row: Any, seen: dict[str, int]) -> None:
    """Run the current row as a work item, unless its reference repeats an earlier row's or its deadline
    forbids it (then it is recorded as failed without running)."""
    from bastidor.executor.items import run_item, skip_item
    from bastidor.executor.state import ItemState

    ref = str(ctx.render(params.item_ref)) if params.item_ref else str(index)
    item = ItemState(ref=ref, index=index, data=row if isinstance(row, dict) else {"value": row})
    if ref in seen:
        skip_item(ctx, item, f"duplicate reference '{ref}': item {seen[ref]} has the same reference", "business")
        return
    seen[ref] = index
    problem = deadline_problem(ctx, params)
    if problem is not None:
        skip_item(ctx, item, *problem)
        return
    run_item(ctx, item, ctx.node.blocks["steps"], params.on_error)


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

    callee = ctx.node.callee
    given = {name: ctx.render(value) for name, value in params.inputs.items()}
    inputs = resolve_inputs(callee.header, callee.path.parent, given)
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
