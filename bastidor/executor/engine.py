"""Runs blocks of steps: each step with its retry policy inside `step_status`, the rest as not run."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from bastidor.executor.context import Scope, StepContext
from bastidor.executor.retrying import retrying
from bastidor.executor.state import RunState
from bastidor.executor.status import record_not_run, step_status
from bastidor.flow.steps import StepNode


def run_block(state: RunState, scope: Scope, nodes: list[StepNode], prefix: str) -> None:
    """Run `nodes` in order. When one fails, record the rest as not run and re-raise."""
    for index, node in enumerate(nodes, 1):
        try:
            run_step(state, scope, node, _path(prefix, index))
        except BaseException:
            record_block_not_run(state, scope, nodes[index:], prefix, first_index=index + 1)
            raise


def run_step(state: RunState, scope: Scope, node: StepNode, path: str) -> None:
    """Run one step, retrying as its policy says; every attempt gets its own record."""
    ctx = StepContext(state, scope, node, path)
    for attempt in retrying(node.retry, state.sleep):
        with attempt:
            with step_status(ctx, attempt.retry_state.attempt_number) as details:
                params = _params_for(ctx, details)
                try:
                    result = node.spec.run(ctx, params)
                except Exception as error:  # a failing step may still say what it got (e.g. an HTTP status)
                    if getattr(error, "step_result", None):
                        details["result"] = error.step_result
                    raise
                if result:
                    details["result"] = result


def record_block_not_run(state: RunState, scope: Scope, nodes: list[StepNode], prefix: str,
                         first_index: int = 1) -> None:
    """Record `nodes` (and everything nested in them) as not run."""
    for index, node in enumerate(nodes, first_index):
        path = _path(prefix, index)
        record_not_run(StepContext(state, scope, node, path))
        for label, block in node.blocks.items():
            record_block_not_run(state, scope, block, f"{path}.{label}")


def _params_for(ctx: StepContext, details: dict[str, Any]) -> BaseModel:
    params = ctx.node.params
    if ctx.node.spec.kind in ("control", "calculation"):
        return params
    values = ctx.render(params.model_dump(exclude_unset=True))
    details["values"] = values
    return type(params).model_construct(**values)


def _path(prefix: str, index: int) -> str:
    return f"{prefix}.{index}" if prefix else str(index)
