"""Builds tenacity retry strategies from a step's RetryPolicy."""

from __future__ import annotations

from typing import Callable, TypeVar

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from bastidor.executor.errors import error_kind
from bastidor.flow.retry_policy import RetryPolicy

T = TypeVar("T")


def retryable(policy: RetryPolicy) -> Callable[[BaseException], bool]:
    """Whether an error is one the policy retries. Business exceptions, postponements and interruptions
    (Ctrl-C, a draining service) never are."""
    kinds = set(policy.on)

    def check(exc: BaseException) -> bool:
        kind = error_kind(exc)
        if kind in ("business", "postponed", "interrupted"):
            return False
        return "any" in kinds or kind in kinds

    return check


def retrying(policy: RetryPolicy | None, sleep: Callable[[float], None] | None = None) -> Retrying:
    """A tenacity Retrying for `policy`; with no policy, a single attempt."""
    if policy is None:
        return Retrying(stop=stop_after_attempt(1), reraise=True)
    wait = wait_exponential(multiplier=policy.wait / 1000, exp_base=float(policy.backoff),
                            max=policy.max_wait / 1000, min=policy.wait / 1000)
    extra = {"sleep": sleep} if sleep is not None else {}
    return Retrying(stop=stop_after_attempt(policy.attempts), wait=wait,
                    retry=retry_if_exception(retryable(policy)), reraise=True, **extra)
