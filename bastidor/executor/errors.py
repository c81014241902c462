"""What can go wrong while a flow runs, and how each kind of failure is classified.

- a business exception (`fail_item`) fails the current item with a reason and is never retried;
- a step error (an assertion, a missing element, a timeout) is the flow's fault: "failed";
- a crash (the browser, the audit sink, the run store or the infrastructure broke) is not: "crashed";
- an interruption (Ctrl-C, SIGTERM, a service that drains or a run's time limit) is neither: the work was
  stopped before its end, and what was not done is left to be done ("interrupted").
"""

from __future__ import annotations

from typing import Any

from bastidor.audit import AuditWriteError


class BusinessException(Exception):
    """A business rule failed for the current item (e.g. out of stock). Not retried."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ItemPostponed(Exception):
    """The flow put the current item off until `until` (`postpone_item`): neither a success nor a failure."""

    def __init__(self, until: Any, reason: str):
        super().__init__(f"postponed until {until.isoformat(timespec='minutes')}: {reason}")
        self.until = until
        self.reason = reason


class StepError(Exception):
    """A step could not do its job: an assertion did not hold, a value was wrong, a file was missing."""


class AssertionFailed(StepError):
    """An `assert_*` step found the page different from what the flow expects."""


class BrowserStepFailed(StepError):
    """A browser step failed, explained for the analyst in a few lines (see `bastidor.executor.step_failure`).

    `str()` is the message shown everywhere (the step, where it is written, what it looked for, what the page
    has that is close); `raw` is the browser's own message and call log, masked, kept for the audit log and
    the report only; `kind` is the failure's kind for retry policies (`timeout`, `assertion` or `error`)."""

    def __init__(self, message: str, *, raw: str, kind: str):
        super().__init__(message)
        self.raw = raw
        self.kind = kind


class Interrupted(BaseException):
    """The run was asked to stop before its end (SIGTERM, a draining service, a time limit).

    Like `KeyboardInterrupt` (Ctrl-C), and unlike a failure, it is a `BaseException`: no step catches it,
    retries it or records it as failed. `requeue` says whether the work should go back to the queue."""

    def __init__(self, reason: str, *, requeue: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.requeue = requeue


def is_interruption(exc: BaseException | None) -> bool:
    """True for Ctrl-C (`KeyboardInterrupt`) and for `Interrupted`."""
    return isinstance(exc, (KeyboardInterrupt, Interrupted))


def interruption_reason(exc: BaseException) -> str:
    """Why the run was interrupted, in words."""
    return exc.reason if isinstance(exc, Interrupted) else "stopped by Ctrl-C (SIGINT)"


class RunStopped(Exception):
    """The run stops here; the steps after this point are recorded as not run."""

    def __init__(self, cause: BaseException):
        super().__init__(str(cause))
        self.cause = cause


def is_crash(exc: BaseException) -> bool:
    """True when the infrastructure broke (browser gone, audit sink or run store unwritable), not the flow."""
    if isinstance(exc, AuditWriteError) or _is_storage_fault(exc):
        return True
    from bastidor.bots.crash import is_crash as browser_gone

    return browser_gone(exc)


def _is_storage_fault(exc: BaseException) -> bool:
    """The run store or the work queue could not be used (disk full, read-only file, locked too long)."""
    from bastidor.queue.base import QueueError
    from bastidor.store.base import StoreError

    return isinstance(exc, (StoreError, QueueError))


def error_kind(exc: BaseException) -> str:
    """The kind used by retry policies: interrupted, business, postponed, timeout, assertion, crash or error."""
    if is_interruption(exc):
        return "interrupted"
    if isinstance(exc, BusinessException):
        return "business"
    if isinstance(exc, ItemPostponed):
        return "postponed"
    if is_crash(exc):
        return "crash"
    if isinstance(exc, BrowserStepFailed):
        return exc.kind
    if isinstance(exc, AssertionFailed):
        return "assertion"
    if type(exc).__name__ == "TimeoutError" and "playwright" in type(exc).__module__:
        return "timeout"
    return "error"


def outcome_of(exc: BaseException | None) -> str:
    """The audit outcome for a step that ended with `exc` (None when it passed)."""
    if exc is None:
        return "passed"
    kind = error_kind(exc.cause if isinstance(exc, RunStopped) else exc)
    return {"business": "business_exception", "crash": "crashed", "postponed": "postponed",
            "interrupted": "interrupted"}.get(kind, "failed")
