"""Riding out a lost PostgreSQL connection: which errors are worth another try, and how long to keep trying.

A server restart, a failover or a network cut shows up as a psycopg `OperationalError` (server closed the
connection, connection refused, admin shutdown, the server still starting up). Those are retried with
exponential backoff (tenacity) for at most `Reconnect.budget_s` seconds; then the caller gets one
`QueueError` line. A deadlock or serialization failure aborts the whole transaction, so it is retried too.
Any other database error (a full disk, a missing permission) is reported at once: waiting would not help.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from sqlalchemy.exc import DBAPIError
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential_jitter,
)

RETRIED_SQLSTATES = frozenset({
    "57P01",  # admin_shutdown: the server is shutting down or restarting
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now: the server is starting up
    "53300",  # too_many_connections
    "40001",  # serialization_failure: the transaction was rolled back, run it again
    "40P01",  # deadlock_detected: likewise
})


class StillCommitting(RuntimeError):
    """The server has not finished the transaction whose COMMIT was in flight; ask again shortly."""


@dataclass(frozen=True)
class Reconnect:
    """How long to keep retrying a lost connection (`budget_s`), waiting `first_s`, then doubling up to `max_s`
    (with jitter, so many bots reconnecting after a restart do not knock at once)."""

    budget_s: float = 60.0
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
    """Whether `error` is a lost or refused connection (or an aborted transaction) that another try may cure."""
    if isinstance(error, StillCommitting):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate is None:  # connecting failed (refused, timed out, closed), or the socket broke
        return isinstance(original, (psycopg.OperationalError, psycopg.InterfaceError))
    return sqlstate.startswith("08") or sqlstate in RETRIED_SQLSTATES


def cause_of(error: BaseException) -> str:
    """The first line of the database's own message, e.g. ``connection refused``."""
    original = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__
