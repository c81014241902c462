"""Work items: `for_each_item` runs its steps once per row, each row an item with a reference and an outcome.

Items are what supervisors count and handle: each has a reference, ends successful, failed (business or
application) or postponed, and is counted in the KPIs. Under the service the rows go to the flow's work
queue (each reference once, ever), bots claim them one at a time, and application errors are retried.
A plain `for_each` is none of this: it is an ordinary loop (see `bastidor.actions.control`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from bastidor.actions.base import Params
from bastidor.actions.registry import action
from bastidor.executor.errors import StepError
from bastidor.flow.model import NAME_PATTERN, OnError
from bastidor.flow.types import DurationMs, ExpressionText, Text


class ForEachItemParams(Params):
    """Process each row of a list as a work item: referenced, counted, retried and queued under the service."""

    items: ExpressionText = Field(alias="for_each_item", description="The list of work, e.g. \"{{ orders }}\".")
    as_: str = Field("row", alias="as", pattern=NAME_PATTERN, description="Name of the loop variable.")
    item_ref: Text = Field(description="Each item's unique reference, e.g. \"{{ row.order_id }}\".")
    on_error: OnError = Field("continue", description="When an item fails: continue with the next, or stop.")
    max_attempts: int = Field(3, ge=1, le=20, description="Unattended runs: tries per item for application "
                              "errors (business exceptions are never retried).")
    retry_wait: DurationMs = Field(30_000, description="Unattended runs: wait before an item is tried again.")
    deadline: ExpressionText | None = Field(None, description="When each item must be done by, e.g. "
                                            "\"{{ order.due_date }}\"; an item not started by then fails.")
    steps: list[Any] = Field(description="Steps to run for each item.")


@action("for_each_item", params=ForEachItemParams, kind="control", shorthand="for_each_item", blocks=("steps",),
        describe=lambda w: f"For each {w['as']:plain} in {w['for_each_item']}, as a work item" + w.options(
            item_ref="item reference", on_error="on error", max_attempts="tries per item",
            retry_wait="wait before a retry", deadline="deadline"))
def for_each_item(ctx, params):
    """Run the nested steps once per row, each row a work item; failed items are recorded and the loop goes on."""
    rows = ctx.render(params.items)
    if not isinstance(rows, list):
        raise StepError(f"for_each_item needs a list, got {type(rows).__name__}: {params.items}")
    if ctx.scope.item is not None:
        raise StepError("for_each_item cannot run inside another item: call this sub-flow from the top of the "
                        "flow, or loop with for_each inside the item")
    if ctx.state.service is not None:
        from bastidor.executor.queued_items import run_queued_items

        return run_queued_items(ctx, params, rows)
    seen: dict[str, int] = {}
    for index, row in enumerate(rows, 1):
        ctx.set_variable(params.as_, row)
        ctx.set_variable("index", index)
        _one_item(ctx, params, index, row, seen)
    return {"rows": len(rows)}


def _one_item(ctx, params, index: int, row: Any, seen: dict[str, int]) -> None:
    """Run the current row as a work item, unless its reference repeats an earlier row's or its deadline
    forbids it (then it is recorded as failed without running)."""
    from bastidor.executor.items import run_item, skip_item
    from bastidor.executor.state import ItemState

    from bastidor.expr.taint import contains_taint

    rendered = ctx.render(params.item_ref)
    if contains_taint(rendered):
        raise StepError("item_ref cannot be computed from a secret: references are shown and stored in clear")
    ref = str(rendered)
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
