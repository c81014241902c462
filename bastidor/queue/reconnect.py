"""Riding out a lost PostgreSQL connection: which errors are worth another try, and how long to keep trying.

A server restart, a failover or a network cut shows up as a psycopg `OperationalError` (server closed the
connection, connection refused, admin shutdown, the server still starting up). Those are retried with
exponential backoff (tenacity) for at most `Reconnect.budget_s` seconds; then the caller gets one
`QueueError` line. A deadlock or serialization failure aborts the whole transaction, so it is retried too.
Any other database error (a full disk, a missing permission) is reported at once: waiting would not help.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential_jitter,
)

from bastidor.database.connection_errors import cause_of, connection_lost, retry_budget_s

__all__ = ["Reconnect", "StillCommitting", "cause_of", "is_transient"]

ABORTED_STATES = frozenset({
    "40001",  # serialization_failure: the transaction was rolled back, run it again
    "40P01",  # deadlock_detected: likewise
    "53300",  # too_many_connections: others will let go
})


class StillCommitting(RuntimeError):
    """The server has not finished the transaction whose COMMIT was in flight; ask again shortly."""


@dataclass(frozen=True)
class Reconnect:
    """How long to keep retrying a lost connection (`budget_s`, by default `$BASTIDOR_DATABASE_RETRY_S` or 60 s),
    waiting `first_s`, then doubling up to `max_s` (with jitter, so many bots reconnecting after a restart do
    not knock at once)."""

    budget_s: float = field(default_factory=retry_budget_s)
    first_s: float = 0.05
    max_s: float = 2.0

    def __post_init__(self) -> None:
        if self.budget_s < 0 or self.first_s <= 0 or self.max_s < self.first_s:
            raise ValueError(f"A reconnect policy needs budget_s >= 0 and 0 < first_s <= max_s; got "
                             f"budget_s={self.budget_s}, first_s={self.first_s}, max_s={self.max_s}.")

    def retrying(self) -> Retrying:
        """A tenacity loop (``for attempt in policy.retrying(): with attempt: ...``) retrying transient errors."""
        return Retrying(retry=retry_if_exception(is_transient), stop=stop_after_delay(self.budget_s),
                        wait=wait_exponential_jitter(multiplier=self.first_s, max=self.max_s, jitter=self.first_s),
                        reraise=True)


def is_transient(error: BaseException) -> bool:
    """Whether `error` is a lost or refused-for-now connection, or an aborted transaction, that another try
    may cure (see `bastidor.database.connection_errors`)."""
    if isinstance(error, StillCommitting) or connection_lost(error):
        return True
    return isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) in ABORTED_STATES
