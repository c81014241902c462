"""Which PostgreSQL errors mean "the connection went away, try again", shared by the queue and the run store.

A server that restarts, fails over or is cut off by the network fails the statement in hand with an
`OperationalError` (SQLSTATE class 08, or 57P01-57P03 while it shuts down or starts up); it is back in
seconds, so the work is retried with backoff for `retry_budget_s()` seconds. A connection refused for good
reasons (a wrong password, a database that does not exist, a pg_hba.conf rule) is never retried: waiting
would not cure it, and the user should hear at once.
"""

from __future__ import annotations

import os

from sqlalchemy.exc import DBAPIError

RETRY_ENV = "BASTIDOR_DATABASE_RETRY_S"
"""Seconds a call keeps retrying a lost connection before it fails (default `DEFAULT_RETRY_S`)."""
DEFAULT_RETRY_S = 60.0
LOST_STATES = frozenset({"57P01", "57P02", "57P03"})
"""admin_shutdown, crash_shutdown, cannot_connect_now; and every state of class 08 (connection exception)."""
PERMANENT_SIGNS = ("does not exist", "authentication failed", "pg_hba.conf", "permission denied",
                   "no password supplied", "invalid dsn", "invalid connection option",
                   "could not translate host name", "name or service not known")
"""Words of a connection failure that waiting will not cure: the URL or the server's settings are wrong (a
host name that does not resolve is taken for a mistyped one, reported at once rather than after a minute)."""


def connection_lost(error: BaseException) -> bool:
    """True when `error` says the connection to the database was lost, or cannot be made for now."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    state = getattr(original, "sqlstate", None)
    if state:
        return state.startswith("08") or state in LOST_STATES
    text = str(original or error).lower()
    return (type(original).__name__ in ("OperationalError", "InterfaceError")
            and not any(sign in text for sign in PERMANENT_SIGNS))


def retry_budget_s() -> float:
    """How long to keep retrying a lost connection: `$BASTIDOR_DATABASE_RETRY_S` when it is a number, else 60 s."""
    try:
        return max(0.0, float(os.environ[RETRY_ENV]))
    except (KeyError, ValueError):
        return DEFAULT_RETRY_S


def cause_of(error: BaseException) -> str:
    """The first line of the database's own message, e.g. ``connection refused``."""
    original = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__
