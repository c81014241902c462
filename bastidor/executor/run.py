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
from bastidor.executor.browser import BrowserHolder
from bastidor.executor.context import Scope
from bastidor.executor.engine import run_block
from bastidor.executor.errors import RunStopped, error_kind
from bastidor.executor.inputs import resolve_inputs
from bastidor.executor.progress import SilentProgress
from bastidor.executor.state import RunState
from bastidor.executor.status import describe_error, utc_now
from bastidor.flow.loader import Flow
from bastidor.notify.runhook import notify_run_end
from bastidor.secrets import default_secrets
from bastidor.store import RunRecord, RunStore


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
    except Exception as exc:  # recorded as the run's outcome below; never a traceback for the analyst
        error = exc.cause if isinstance(exc, RunStopped) else exc
    finally:
        state.progress.stop()
    return _finish(state, started, error)


def _start(state: RunState, inputs: dict[str, Any], started: dt.datetime) -> None:
    masked_inputs = state.masker.mask(inputs)
    state.progress.start(state)
    state.store.create_run(RunRecord(
        run_id=state.run_id, flow_name=state.flow.name, flow_path=str(state.flow.path),
        flow_sha256=state.flow.sha256, status="running", started_at=started, ended_at=None,
        inputs=masked_inputs, audit_path=str(state.audit.path), report_path=None, items_total=0,
        items_succeeded=0, items_failed=0, error=None, host=socket.gethostname(), user=_user()))
    state.audit.event("run.started", inputs=masked_inputs, flow_file=state.flow.file,
                      flow_version=str(state.flow.header.version), host=socket.gethostname(),
                      user=_user(), pid=os.getpid())


def _finish(state: RunState, started: dt.datetime, error: BaseException | None) -> RunResult:
    counters = state.counters
    status = _status(error, counters.items_failed)
    error_text = state.masker.mask_text(describe_error(error)) if error is not None else None
    try:
        state.browser.close(failed=status != "succeeded", masker=state.masker)
    except Exception as exc:  # a browser that will not close must not hide the run's outcome
        error_text = error_text or state.masker.mask_text(describe_error(exc))
    ended = utc_now()
    duration = (ended - started).total_seconds()
    state.flush_steps()
    notify_run_end(state, status, error_text)  # never raises; a failed notification is audited, not fatal
    try:
        _close_audit(state, status, duration, error_text)
    except AuditWriteError as exc:  # fail closed: the run is recorded as crashed, never as clean
        status, error_text = "crashed", state.masker.mask_text(str(exc))
    state.store.update_run(state.run_id, status=status, ended_at=ended, items_total=counters.items_total,
                           items_succeeded=counters.items_succeeded, items_failed=counters.items_failed,
                           error=error_text, audit_last_hash=state.audit.last_hash)
    return RunResult(state.run_id, status, state.flow.name, counters.items_total, counters.items_succeeded,
                     counters.items_failed, list(counters.failures), duration, state.run_dir,
                     state.audit.path, error_text, counters.already_processed, counters.items_postponed)


def _close_audit(state: RunState, status: str, duration: float, error_text: str | None) -> None:
    counters = state.counters
    state.audit.event("run.finished", status=status, items_total=counters.items_total,
                      items_succeeded=counters.items_succeeded, items_failed=counters.items_failed,
                      items_postponed=counters.items_postponed, duration_s=round(duration, 3), error=error_text)
    state.audit.close()


def _status(error: BaseException | None, items_failed: int) -> str:
    if error is not None:
        return "crashed" if error_kind(error) == "crash" else "failed"
    return "failed" if items_failed else "succeeded"


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user database entry (e.g. some containers)
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"
