"""Riding out a lost PostgreSQL connection: which errors mean "the connection went away", and retrying
the work with exponential backoff (tenacity) for a bounded time.

A PostgreSQL server that restarts, or a network that drops, fails the statement in hand with an
`OperationalError`; the server coming back is a matter of seconds. `Reconnect` retries such work until
`ReconnectPolicy.give_up_after_s` has passed, then lets the last error through for the caller to name
the database. Anything else (a constraint, a wrong password, a database that does not exist) is never
retried. A write whose COMMIT was sent but not answered may or may not have been committed: the caller's
work is told so on its next attempt (`attempt.uncertain`) and checks before writing again.

    reconnect = Reconnect(ReconnectPolicy())
    reconnect.run(lambda attempt: write(attempt))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from bastidor.database.connection_errors import (  # noqa: F401  (RETRY_ENV: re-exported for callers)
    DEFAULT_RETRY_S,
    RETRY_ENV,
    connection_lost,
    retry_budget_s,
)

T = TypeVar("T")


@dataclass(frozen=True)
class ReconnectPolicy:
    """How long to keep trying after a lost connection: waits from `first_wait_s` doubling up to
    `max_wait_s`, for at most `give_up_after_s` in all (0: never retry)."""

    give_up_after_s: float = DEFAULT_RETRY_S
    first_wait_s: float = 0.1
    max_wait_s: float = 5.0

    @classmethod
    def from_environment(cls) -> ReconnectPolicy:
        """The default policy, with `$BASTIDOR_DATABASE_RETRY_S` as the bound when it is a number."""
        return cls(give_up_after_s=retry_budget_s())


@dataclass
class Attempt:
    """One try of the work; `uncertain` is True when an earlier try lost its connection after it may have
    committed, so the work must check what is already stored before writing it again."""

    number: int = 1
    uncertain: bool = False


class Reconnect:
    """Runs work again, with backoff, while it fails only because the database connection was lost."""

    def __init__(self, policy: ReconnectPolicy, *, enabled: bool = True) -> None:
        self.policy = policy
        self.enabled = enabled

    def run(self, work: Callable[[Attempt], T]) -> T:
        """`work(attempt)`, retried on a lost connection; the last error is raised when time runs out."""
        attempt = Attempt()
        if not self.enabled or self.policy.give_up_after_s <= 0:
            return work(attempt)

        def once() -> T:
            try:
                return work(attempt)
            except DBAPIError as error:
                if connection_lost(error):
                    attempt.number += 1
                    attempt.uncertain = True
                raise

        return self._retrying()(once)

    def _retrying(self) -> Retrying:
        policy = self.policy
        return Retrying(stop=stop_after_delay(policy.give_up_after_s),
                        wait=wait_exponential(multiplier=policy.first_wait_s, max=policy.max_wait_s),
                        retry=retry_if_exception(connection_lost), reraise=True)
