"""The one place a step's status, timing, screenshot and audit record are produced.

Every step runs inside `step_status`; nothing is recorded by hand around a call.
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import contextmanager
from typing import Any, Iterator

from bastidor.executor.browser_start import record_browser_starts, start_browser_for
from bastidor.executor.errors import (BrowserStepFailed, BusinessException, ItemPostponed, RunStopped,
                                     interruption_reason, is_interruption, outcome_of)
from bastidor.executor.step_failure import describe_target_values, explain_failure, target_values
from bastidor.store import StepRecord

_RECORDED = "_bastidor_recorded"


def utc_now() -> dt.datetime:
    """The current time in UTC."""
    return dt.datetime.now(dt.timezone.utc)


@contextmanager
def step_status(ctx: Any, attempt: int) -> Iterator[dict[str, Any]]:
    """Run a step's body; on exit record its outcome, duration, error and failure screenshot.

    The yielded dict lets the body add details to the record (e.g. rendered `values`). A browser step
    starts the browser first, recorded as its own line (see `browser_start`), so its time is its own, and a
    step around it (a `call`, a loop) does not count that start either. A
    failed browser step is explained in a few lines (see `step_failure`); the browser's raw message goes
    to the audit record only.
    """
    details: dict[str, Any] = {}
    started, start, ended = utc_now(), time.perf_counter(), None
    starts_before = ctx.state.browser.starts_ms
    error: BaseException | None = None
    try:
        start_browser_for(ctx)
        started, start = utc_now(), time.perf_counter()
        starts_before = ctx.state.browser.starts_ms
        ctx.state.progress.step_started(ctx)
        yield details
    except BaseException as exc:
        ended = time.perf_counter()
        error = explain_failure(ctx, exc, details)
        if error is exc:
            raise
        details["error_detail"] = error.raw  # the browser's own message, for this step's record only
        raise error from exc
    finally:
        record_browser_starts(ctx)  # a start inside this step (or a step nested in it) is not its time
        starting_ms = ctx.state.browser.starts_ms - starts_before
        duration_ms = round(max(0.0, ((ended or time.perf_counter()) - start) * 1000 - starting_ms), 1)
        shot = None if is_interruption(error) else _failure_screenshot(ctx, error, attempt)
        _record(ctx, attempt, started, duration_ms, error, shot, details)


def record_not_run(ctx: Any) -> None:
    """Record a step that did not run because an earlier step failed."""
    _record(ctx, 0, utc_now(), 0.0, None, None, {}, outcome="not_run")


def describe_error(exc: BaseException) -> str:
    """A short, readable error text (Playwright call logs trimmed to their first lines)."""
    if isinstance(exc, RunStopped):
        exc = exc.cause
    if isinstance(exc, BusinessException):
        return exc.reason
    if isinstance(exc, BrowserStepFailed):
        return str(exc)  # a few lines, written to be read whole
    if is_interruption(exc):
        return interruption_reason(exc)
    lines = [line for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    text = "\n".join(lines[:4])
    return text if len(text) <= 1000 else text[:997] + "..."


def _failure_screenshot(ctx: Any, error: BaseException | None, attempt: int) -> tuple[str, str] | None:
    if error is None or getattr(error, _RECORDED, False) or isinstance(error, (RunStopped, ItemPostponed)):
        return None
    _mark_recorded(error)
    state, item = ctx.state, ctx.scope.item
    item_ref = state.masker.mask_text(item.ref) if item is not None else None
    return state.browser.failure_screenshot(ctx.path, state.secret_targets, attempt=attempt, item_ref=item_ref,
                                            secret_texts=state.masker.values())


def _mark_recorded(error: BaseException) -> None:
    try:
        setattr(error, _RECORDED, True)
    except AttributeError:
        pass


def _record(ctx: Any, attempt: int, started: dt.datetime, duration_ms: float, error: BaseException | None,
            shot: tuple[str, str] | None, details: dict[str, Any], outcome: str | None = None) -> None:
    state, node, scope = ctx.state, ctx.node, ctx.scope
    outcome = outcome or outcome_of(error)
    masker = state.masker
    error_text = masker.mask_text(describe_error(error)) if error is not None else None
    target = _target(ctx, details)
    item_ref = scope.item.ref if scope.item else None
    fields = dict(step_path=ctx.path, step_line=node.where, step_name=node.title(), action=node.action,
                  target=target, params=masker.mask(node.written), item_ref=item_ref, attempt=attempt,
                  outcome=outcome, duration_ms=duration_ms, error=error_text,
                  max_attempts=node.retry.attempts if node.retry else 1)
    for key in ("values", "result"):
        if key in details:
            fields[key] = masker.mask(details[key])
    detail = details.get("error_detail")
    if detail:
        fields["error_detail"] = detail
    if shot:
        fields["screenshot"], fields["screenshot_sha256"] = shot
    if scope.flow is not state.flow:
        fields["subflow"], fields["subflow_sha256"] = scope.flow.name, scope.flow.sha256
    state.audit.event("step", **fields)
    state.record_step(StepRecord(
        run_id=state.run_id, seq=state.next_step_seq(), path=ctx.path, parent_path=ctx.path.rpartition(".")[0],
        name=node.title(), action=node.action, target=target, item_ref=item_ref, attempt=attempt,
        status=outcome, started_at=started, duration_ms=duration_ms, error=error_text,
        screenshot=shot[0] if shot else None, screenshot_sha256=shot[1] if shot else None, line=node.where,
        error_detail=detail))
    state.progress.step_finished(ctx, outcome)


def _target(ctx: Any, details: dict[str, Any]) -> str | None:
    """The element the step acted on, as resolved when it ran (its `{{ }}` worked out, secrets masked); as
    written for a step that did not get that far."""
    values = details.get("values")
    resolved = target_values(values) if isinstance(values, dict) else None
    if resolved is not None:
        return describe_target_values(ctx.state.masker.mask(dict(resolved)))
    describe = getattr(ctx.node.params, "describe", None)
    if not callable(describe):
        return None
    try:
        return describe()
    except (AssertionError, ValueError):
        return None
