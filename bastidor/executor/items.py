"""Work items: each iteration of a top-level `for_each` is an item with a reference and an outcome."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bastidor.executor.context import StepContext
from bastidor.executor.engine import run_block
from bastidor.executor.errors import BusinessException, ItemPostponed, RunStopped, error_kind
from bastidor.executor.state import ItemState
from bastidor.executor.status import describe_error, utc_now
from bastidor.store import ItemRecord


def run_item(ctx: StepContext, item: ItemState, nodes: list, on_error: str) -> None:
    """Run one item's steps and record its outcome; a crash, or a failure with on_error=stop, stops the run."""
    state = ctx.state
    scope = replace(ctx.scope, item=item)
    started = utc_now()
    _begin(ctx, item, started)
    failure: BaseException | None = None
    try:
        run_block(state, scope, nodes, f"{ctx.path}[{item.index}]")
        item.status = "successful"
    except Exception as exc:  # every failure of an item is recorded, then handled below
        failure = exc
        _fail(item, exc)
    finally:
        _finish(ctx, item, started)
    if failure is not None and (error_kind(failure) == "crash" or (on_error == "stop" and item.status == "failed")):
        raise RunStopped(failure)  # a postponed item is no failure: on_error=stop does not end the run for it


def skip_item(ctx: StepContext, item: ItemState, reason: str, kind: str) -> None:
    """Record an item as failed for `reason` without running its steps (a repeated reference, a passed
    deadline); `kind` is the exception kind, business or application."""
    started = utc_now()
    _begin(ctx, item, started)
    item.status, item.reason, item.exception = "failed", reason, kind
    _finish(ctx, item, started, kind=kind)


def _begin(ctx: StepContext, item: ItemState, started: Any) -> None:
    state = ctx.state
    state.counters.items_total += 1
    state.audit.event("item.started", item_ref=item.ref, item_index=item.index, attempt=item.attempt,
                      step_path=ctx.path, data=state.masker.mask(item.data))
    state.store.upsert_item(ItemRecord(run_id=state.run_id, item_ref=item.ref, status="in_progress",
                                       reason=None, attempts=item.attempt, started_at=started, ended_at=None,
                                       data=state.masker.mask(item.data)))
    state.progress.item_started(item)


def _fail(item: ItemState, exc: BaseException) -> None:
    cause = exc.cause if isinstance(exc, RunStopped) else exc
    if isinstance(cause, ItemPostponed):
        item.status, item.reason, item.postponement = "postponed", str(cause), cause
        return
    item.status = "failed"
    business = isinstance(cause, BusinessException)
    item.exception = "business" if business else "application"
    item.reason = cause.reason if business else describe_error(cause)


def _finish(ctx: StepContext, item: ItemState, started: Any, kind: str | None = None) -> None:
    state = ctx.state
    reason = state.masker.mask_text(item.reason) if item.reason else None
    exception = kind or item.exception
    counters = state.counters
    if item.status == "successful":
        counters.items_succeeded += 1
    elif item.status == "postponed":
        counters.items_postponed += 1
    else:
        counters.items_failed += 1
        counters.failures.append((item.ref, reason or "failed"))
    state.flush_steps()
    state.audit.event("item.finished", item_ref=item.ref, item_index=item.index, attempt=item.attempt,
                      status=item.status, exception=exception, reason=reason)
    state.store.upsert_item(ItemRecord(run_id=state.run_id, item_ref=item.ref, status=item.status,
                                       reason=reason, attempts=item.attempt, started_at=started,
                                       ended_at=utc_now(), data=state.masker.mask(item.data),
                                       exception=exception if item.status == "failed" else None))
    state.progress.item_finished(item)
