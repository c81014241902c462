"""Runs a validated flow once: inputs, secrets, audit log, run store, browser, items, summary."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import secrets as token
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from bastidor.audit import AuditLog, AuditWriteError, SecretMasker
from bastidor.audit.shipping import ship_after_run
from bastidor.executor.browser import BrowserHolder
from bastidor.executor.context import Scope
from bastidor.executor.engine import run_block
from bastidor.executor.errors import (BusinessException, Interrupted, ItemPostponed, RunStopped, StepError, error_kind,
                                     is_interruption)
from bastidor.executor.interrupts import interrupts_deferred
from bastidor.executor.inputs import resolve_inputs
from bastidor.executor.progress import SilentProgress
from bastidor.executor.state import RunState
from bastidor.executor.status import describe_error, utc_now
from bastidor.flow.loader import Flow
from bastidor.notify.runhook import notify_run_end
from bastidor.secrets import default_secrets
from bastidor.store import RunRecord, RunStore, StoreError


@dataclass
class RunOptions:
    """How to run a flow: inputs, where runs are kept, and optional shared resources."""

    home: Path = Path(".bastidor")
    inputs: Mapping[str, Any] = field(default_factory=dict)
    headed: bool = False
    base_url: str | None = None
    secrets: Any = None
    store: RunStore | None = None
    bot: Any = None
    progress: Any = None
    today: dt.date | None = None
    sleep: Callable[[float], None] | None = None
    run_id: str | None = None
    service: Any = None


@dataclass
class RunResult:
    """What a run did, for the summary and for callers."""

    run_id: str
    status: str
    flow: str
    items_total: int
    items_succeeded: int
    items_failed: int
    failures: list[tuple[str, str]]
    duration_s: float
    run_dir: Path
    audit_path: Path
    error: str | None = None
    already_processed: int = 0
    items_postponed: int = 0
    items_interrupted: int = 0
    requeue: bool = False
    """For an interrupted run under the service: its request goes back to the queue (the service drained)."""


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus random hex."""
    return f"{dt.datetime.now(dt.timezone.utc):%Y%m%d-%H%M%S}-{token.token_hex(3)}"


def run_flow(flow: Flow, options: RunOptions, store: RunStore) -> RunResult:
    """Run `flow` once and return its result. Input and secret problems raise before anything starts."""
    inputs = resolve_inputs(flow.header, flow.path.parent, options.inputs, given_base=Path.cwd())
    provider = options.secrets or default_secrets()
    secret_values = provider.resolve(_all_secret_names(flow))
    masker = SecretMasker(names=secret_values.keys(), values=secret_values.values())
    run_id = options.run_id or new_run_id()
    run_dir = (options.home / "runs" / run_id).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    audit = AuditLog.open(run_dir / "audit.jsonl", run_id=run_id, flow=flow.name,
                          flow_sha256=flow.sha256, masker=masker)
    browser = BrowserHolder(flow.header.bot, run_dir, headed=options.headed, base_url=options.base_url,
                            bot=options.bot)
    state = RunState(run_id, flow, run_dir, audit, store, masker, secret_values,
                     options.today or dt.date.today(), browser, options.progress or SilentProgress(),
                     sleep=options.sleep, service=options.service)
    return _execute(state, inputs)


def _all_secret_names(flow: Flow) -> list[str]:
    names = list(flow.header.secrets)
    for node in flow.walk():
        if node.callee is not None:
            names += [n for n in node.callee.header.secrets if n not in names]
    return names


def _execute(state: RunState, inputs: dict[str, Any]) -> RunResult:
    started = utc_now()
    error: BaseException | None = None
    try:
        _start(state, inputs, started)
        run_block(state, Scope(state.flow, dict(inputs)), state.flow.steps, "")
    except (KeyboardInterrupt, Interrupted) as exc:  # stopped from outside: recorded as interrupted
        error = exc
    except Exception as exc:  # recorded as the run's outcome below; never a traceback for the analyst
        error = exc.cause if isinstance(exc, RunStopped) else exc
        if isinstance(error, (BusinessException, ItemPostponed)):
            error = _outside_an_item(error)
    finally:
        with interrupts_deferred():
            state.progress.stop()
    with interrupts_deferred():
        return _finish(state, started, error)


def _outside_an_item(error: BusinessException | ItemPostponed) -> StepError:
    """A business exception (or a postponement) that reached the run itself: there was no work item to end.
    This happens when a flow written as an item sub-flow is run on its own, or a flow still uses `for_each`
    for its work items: the run fails, and says both."""
    what = "business exception" if isinstance(error, BusinessException) else "postponement"
    return StepError(f"{what} outside a work item: {error.reason} (fail_item, postpone_item and assert with "
                     f"business: true end a work item of a for_each_item loop, and this flow was not in one; "
                     f"for_each is a plain loop: write for_each_item to make its rows work items, or call this "
                     f"flow from the steps of a for_each_item)")


def _start(state: RunState, inputs: dict[str, Any], started: dt.datetime) -> None:
    masked_inputs = state.masker.mask(inputs)
    state.progress.start(state)
    state.audit.event("run.started", inputs=masked_inputs, flow_file=state.flow.file,
                      flow_version=str(state.flow.header.version), host=socket.gethostname(),
                      user=_user(), pid=os.getpid())
    state.store.create_run(RunRecord(
        run_id=state.run_id, flow_name=state.flow.name, flow_path=str(state.flow.path),
        flow_sha256=state.flow.sha256, status="running", started_at=started, ended_at=None,
        inputs=masked_inputs, audit_path=str(state.audit.path), report_path=None, items_total=0,
        items_succeeded=0, items_failed=0, error=None, host=socket.gethostname(), user=_user(), pid=os.getpid()))


def _finish(state: RunState, started: dt.datetime, error: BaseException | None) -> RunResult:
    """Close the browser, then record the outcome in the run store and the audit log. A store or audit log
    that cannot be written makes the run crashed (the one that can still be written says why)."""
    status = _status(error, state.counters.items_failed)
    error_text = state.masker.mask_text(describe_error(error)) if error is not None else None
    try:
        state.browser.close(failed=status != "succeeded", masker=state.masker)
    except Exception as exc:  # a browser that will not close must not hide the run's outcome
        error_text = error_text or state.masker.mask_text(describe_error(exc))
    ended = utc_now()
    duration = (ended - started).total_seconds()
    status, error_text = _save(state, status, error_text, ended)
    notify_run_end(state, status, error_text)  # never raises; a failed notification is audited, not fatal
    try:
        _close_audit(state, status, duration, error_text)
    except AuditWriteError as exc:  # fail closed: the run is recorded as crashed, never as clean
        if not (status == "crashed" and error_text):  # else it crashed on this log already: keep the first cause
            status, error_text = "crashed", state.masker.mask_text(str(exc))
        _save(state, status, error_text, ended)
    else:
        _save_quietly(state, audit_last_hash=state.audit.last_hash)
    ship_after_run(state.run_dir)  # scale-out: the audit log and evidence to the shared database; never raises
    return _result(state, status, error_text, duration, isinstance(error, Interrupted) and error.requeue)


def _save(state: RunState, status: str, error_text: str | None, ended: dt.datetime) -> tuple[str, str | None]:
    """Write the run's steps, outcome and counts to the run store; when it cannot be written, the run is
    crashed and the error names the store and the cause."""
    counters = state.counters
    try:
        state.flush_steps()
        state.store.update_run(state.run_id, status=status, ended_at=ended, items_total=counters.items_total,
                               items_succeeded=counters.items_succeeded, items_failed=counters.items_failed,
                               error=error_text)
    except StoreError as exc:
        if status == "crashed" and error_text:
            return status, error_text  # the run already crashed, most likely on this same store: keep that cause
        return "crashed", state.masker.mask_text(f"the run's outcome ({status}) could not be saved: {exc}")
    return status, error_text


def _save_quietly(state: RunState, **changes: Any) -> None:
    """A last detail for the run store; the outcome is already saved, so a failure here is not the run's."""
    try:
        state.store.update_run(state.run_id, **changes)
    except StoreError:
        return


def _result(state: RunState, status: str, error_text: str | None, duration: float, requeue: bool) -> RunResult:
    counters = state.counters
    return RunResult(state.run_id, status, state.flow.name, counters.items_total, counters.items_succeeded,
                     counters.items_failed, list(counters.failures), duration, state.run_dir,
                     state.audit.path, error_text, counters.already_processed, counters.items_postponed,
                     counters.items_interrupted, requeue)


def _close_audit(state: RunState, status: str, duration: float, error_text: str | None) -> None:
    counters = state.counters
    blocking = {"blocked_requests": state.browser.blocked_requests} if state.browser.spec.block else {}
    state.audit.event("run.finished", status=status, items_total=counters.items_total,
                      items_succeeded=counters.items_succeeded, items_failed=counters.items_failed,
                      items_postponed=counters.items_postponed, items_interrupted=counters.items_interrupted,
                      duration_s=round(duration, 3), error=error_text, **blocking)
    state.audit.close()


def _status(error: BaseException | None, items_failed: int) -> str:
    if is_interruption(error):
        return "interrupted"
    if error is not None:
        return "crashed" if error_kind(error) == "crash" else "failed"
    return "failed" if items_failed else "succeeded"


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user database entry (e.g. some containers)
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"
