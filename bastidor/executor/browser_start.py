"""Starting the browser as its own line of the step tree, timings and audit log.

Launching Chromium takes a second or more. Counted in the first `open`, it made that step look slow; so a
browser step that finds no browser running starts it first, before its own clock starts, and the start is
recorded as a step of its own:

- "Start the browser" (path `0`) when the run launches its browser;
- "Open a fresh browser context" (path `0`) when the bot's browser already runs (the service, tests); its
  record says `warm: true` when the run took a context the bot had opened ahead, while idle, for it;
- "Open a fresh browser context for this item" (path `<loop>[<item>].0`) for each work item with
  `bot: {fresh_context: per_item}`.

A step of another kind that reaches the page (a `wait_for_any`) starts the browser itself; that start is
recorded the same way and taken out of that step's time.
"""

from __future__ import annotations

from typing import Any

from bastidor.executor.errors import outcome_of
from bastidor.store import StepRecord

ACTION = "start_browser"


def start_browser_for(ctx: Any) -> None:
    """Before a browser step: start the browser (or the item's fresh context) and record the start, so that
    the step's own time does not include it. Raises what the start raised, once it is recorded."""
    holder = ctx.state.browser
    if ctx.node.spec.kind != "browser" or holder.started:
        return
    ctx.state.progress.browser_starting(_name(ctx, launched=holder.will_launch))
    try:
        holder.current()
    finally:
        record_browser_starts(ctx)


def record_browser_starts(ctx: Any) -> float:
    """Record the browser starts not yet recorded; returns their time in milliseconds (to take out of the
    step that caused them)."""
    total = 0.0
    for start in ctx.state.browser.take_starts():
        _record(ctx, start)
        total += start.duration_ms
    return total


def _record(ctx: Any, start: Any) -> None:
    from bastidor.executor.status import describe_error

    state = ctx.state
    per_item = state.browser.fresh_per_item and ctx.scope.item is not None
    path = f"{_item_path(ctx.path)}.0" if per_item else "0"
    name = _name(ctx, launched=start.launched)
    item_ref = ctx.scope.item.ref if per_item else None
    outcome = outcome_of(start.error)
    error = state.masker.mask_text(describe_error(start.error)) if start.error is not None else None
    state.audit.event("step", step_path=path, step_name=name, action=ACTION, launched=start.launched,
                      warm=start.warm, item_ref=item_ref, attempt=1, outcome=outcome,
                      duration_ms=start.duration_ms, error=error)
    state.record_step(StepRecord(
        run_id=state.run_id, seq=state.next_step_seq(), path=path, parent_path=path.rpartition(".")[0], name=name,
        action=ACTION, item_ref=item_ref, attempt=1, status=outcome, started_at=start.started_at,
        duration_ms=start.duration_ms, error=error))
    state.progress.browser_started(name, start.duration_ms)


def _name(ctx: Any, *, launched: bool) -> str:
    if launched:
        return "Start the browser"
    if ctx.state.browser.fresh_per_item and ctx.scope.item is not None:
        return "Open a fresh browser context for this item"
    return "Open a fresh browser context"


def _item_path(step_path: str) -> str:
    """The path of the work item a step belongs to: `3[2]` for step `3[2].4.then.1` (a `for_each_item` is
    never inside another loop, so the first `[...]` of a path inside an item is the item's)."""
    return step_path[:step_path.index("]") + 1] if "]" in step_path else step_path
