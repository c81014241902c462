"""Delivering one message on one channel: what went wrong, retries with a short backoff, the outcome."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Literal

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

MAX_WAIT_S = 30.0

DeliveryStatus = Literal["sent", "failed", "duplicate"]


class DeliveryError(Exception):
    """A channel could not deliver a message. `temporary` says whether trying again may help
    (no answer, server busy) or not (password refused, address rejected)."""

    def __init__(self, message: str, *, temporary: bool):
        super().__init__(message)
        self.temporary = temporary


class DeliveryFailed(Exception):
    """Every attempt failed; `attempts` says how many were made and `cause` what the last one hit."""

    def __init__(self, cause: BaseException, attempts: int):
        super().__init__(str(cause))
        self.cause = cause
        self.attempts = attempts


@dataclass(frozen=True)
class Delivery:
    """What became of one event on one channel: sent, failed (with a masked reason), or a duplicate
    that was not sent again."""

    channel: str
    event: str
    status: DeliveryStatus
    attempts: int = 0
    reason: str | None = None

    @property
    def failed(self) -> bool:
        """True when the message could not be delivered."""
        return self.status == "failed"


def deliver_with_retries(send: Callable[[], None], attempts: int, wait_s: float,
                         sleep: Callable[[float], None] = time.sleep) -> int:
    """Call `send` until it works, retrying temporary DeliveryErrors with a doubling wait (`wait_s`,
    then twice that, ...); return the attempts used, or raise DeliveryFailed after the last one."""
    made = 0

    def attempt() -> None:
        """One try, counted."""
        nonlocal made
        made += 1
        send()

    retrying = Retrying(stop=stop_after_attempt(attempts), reraise=True, sleep=sleep,
                        wait=wait_exponential(multiplier=wait_s, min=wait_s, max=MAX_WAIT_S),
                        retry=retry_if_exception(_worth_retrying))
    try:
        retrying(attempt)
    except Exception as error:  # reported to the caller with the number of attempts made
        raise DeliveryFailed(error, made) from error
    return made


def _worth_retrying(error: BaseException) -> bool:
    return isinstance(error, DeliveryError) and error.temporary
