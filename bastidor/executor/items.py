"""Work items: each row of a `for_each_item` is an item with a reference and an outcome."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Callable

from bastidor.executor.context import StepContext
from bastidor.executor.engine import run_block
from bastidor.executor.errors import BusinessException, ItemPostponed, RunStopped, error_kind
from bastidor.executor.state import ItemState
from bastidor.executor.status import describe_error, utc_now
from bastidor.store import ItemRecord

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def run_item(ctx: StepContext, item: ItemState, nodes: list, on_error: str,
             on_outcome: Callable[[ItemState], None] | None = None) -> None:
    """Run one item's steps and record its outcome; a crash, or a failure with on_error=stop, stops the run.
    `on_outcome` (the work queue's record of the outcome) runs before the audit log and the run store."""
    state = ctx.state
    scope = replace(ctx.scope, item=item)
    started = utc_now()
    _begin(ctx, item, started)
    failure: BaseException | None = None
    try:
        fresh_browser_context(ctx)
        run_block(state, scope, nodes, f"{ctx.path}[{item.index}]")
        item.status = "successful"
    except Exception as exc:  # every failure of an item is recorded, then handled below
        failure = exc
        _fail(item, exc)
    except BaseException as exc:  # Ctrl-C or a stop request: the item is recorded as interrupted, then it stops
        item.status, item.reason = "interrupted", describe_error(exc)
        raise
    finally:
        _finish(ctx, item, started, on_outcome=on_outcome)
        fresh_browser_context(ctx, ended=item)
    if failure is not None and (error_kind(failure) == "crash" or (on_error == "stop" and item.status == "failed")):
        raise RunStopped(failure)  # a postponed item is no failure: on_error=stop does not end the run for it


def fresh_browser_context(ctx: StepContext, ended: ItemState | None = None) -> None:
    """With `bot: {fresh_context: per_item}`, close the browser context around each item (before it, and
    once it `ended`), so that an item starts with no cookies, storage or pages of the steps before it. A
    failed item's trace (when traces are on) is kept as `traces/item-<ref>-a<attempt>.zip`."""
    state = ctx.state
    if not state.browser.fresh_per_item or not state.browser.started:
        return
    trace = None
    if ended is not None and ended.status == "failed":
        safe_ref = _UNSAFE.sub("_", state.masker.mask_text(ended.ref)).strip("_")[:60]
        trace = f"traces/item-{safe_ref}-a{ended.attempt}.zip"
    try:
        state.browser.end_context(state.masker, keep_trace_as=trace)
    except Exception:  # a browser that broke cannot keep the item's context; the next start will say so
        if ended is None:
            raise
    finally:
        state.secret_targets.clear()  # the fields they name belonged to the closed pages


def skip_item(ctx: StepContext, item: ItemState, reason: str, kind: str,
              on_outcome: Callable[[ItemState], None] | None = None) -> None:
    """Record an item as failed for `reason` without running its steps (a repeated reference, a passed
    deadline); `kind` is the exception kind, business or application."""
    started = utc_now()
    _begin(ctx, item, started)
    item.status, item.reason, item.exception = "failed", reason, kind
    _finish(ctx, item, started, on_outcome=on_outcome)


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


def _finish(ctx: StepContext, item: ItemState, started: Any,
            on_outcome: Callable[[ItemState], None] | None = None) -> None:
    state = ctx.state
    unrecorded = _tell(on_outcome, item)
    reason = state.masker.mask_text(item.reason) if item.reason else None
    exception = item.exception
    counters = state.counters
    if item.status == "successful":
        counters.items_succeeded += 1
    elif item.status == "postponed":
        counters.items_postponed += 1
    elif item.status == "interrupted":
        counters.items_interrupted += 1
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
    if unrecorded is not None:
        raise unrecorded


def _tell(on_outcome: Callable[[ItemState], None] | None, item: ItemState) -> Exception | None:
    """Give the item's outcome to `on_outcome`. When that fails (the work queue is unwritable), the item is
    recorded as failed here, since the queue will hand it out again, and the error is returned to raise."""
    if on_outcome is None:
        return None
    try:
        on_outcome(item)
    except Exception as error:  # recorded below, then raised: the run cannot go on without its queue
        outcome = item.status
        item.status, item.exception = "failed", "application"
        item.reason = f"its outcome ({outcome}) could not be recorded in the work queue, which hands it out " \
                      f"again: {error}"
        return error
    return None
