"""The scheduler lock on a shared PostgreSQL database: a session advisory lock on a connection of its own.

`pg_try_advisory_lock(key)` is held for as long as the session that took it lives, so the lock's fate is
the connection's: never one from the shared pool (a pooled connection is handed around and recycled), but
a raw psycopg connection kept by this object alone. It must not go through a pooler in transaction mode
(PgBouncer): connect the services straight to PostgreSQL, as the database URL does by default.

How fast a dead holder is noticed (see docs/scale-out.md):

- killed (kill -9, a crash): its socket closes and PostgreSQL ends the session at once, releasing the lock;
  a standby takes it at its next tick (services tick every second).
- PostgreSQL restarted: every session ends; the first standby (or the old holder) to reconnect takes it.
- network cut: PostgreSQL probes the silent client with TCP keepalives (`SERVER_KEEPALIVE`: after 3 s
  idle, 2 probes 2 s apart) and ends its session within about 7 s; the holder itself checks its session
  every tick, and a check not acknowledged within `USER_TIMEOUT_MS` (4 s) fails, so it stops scheduling
  before a standby can take over (about 5 s after the cut, against 7 s).
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

SCHEDULER_LOCK_KEY = int.from_bytes(hashlib.sha256(b"bastidor.scheduler").digest()[:8], "big", signed=True)
"""The advisory lock key of the one active scheduler (advisory locks are per database)."""
APPLICATION_PREFIX = "bastidor scheduler "
CONNECT_TIMEOUT_S = 5
USER_TIMEOUT_MS = 4000
STATEMENT_TIMEOUT_MS = 4000
CLIENT_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 3, "keepalives_interval": 2, "keepalives_count": 2}
SERVER_KEEPALIVE = {"tcp_keepalives_idle": 3, "tcp_keepalives_interval": 2, "tcp_keepalives_count": 2,
                    "tcp_user_timeout": USER_TIMEOUT_MS, "statement_timeout": STATEMENT_TIMEOUT_MS,
                    "idle_session_timeout": 0, "idle_in_transaction_session_timeout": 0}

HOLDER_QUERY = """
SELECT a.application_name, host(a.client_addr) AS address, a.pid
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database
                                                              WHERE datname = current_database())
  AND l.classid::bigint = %(classid)s AND l.objid::bigint = %(objid)s AND l.objsubid = 1
"""
HELD_HERE_QUERY = """
SELECT 1 FROM pg_locks
WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
  AND classid::bigint = %(classid)s AND objid::bigint = %(objid)s AND objsubid = 1
"""


class AdvisoryLock:
    """The scheduler lock as a PostgreSQL session advisory lock on a dedicated connection.

    A standby keeps its connection open between tries; a connection that fails is closed and opened
    again at the next try. Nothing here raises for a database that cannot be reached: it only means this
    process is not (or no longer) the holder, and `lost_reason` says why."""

    def __init__(self, url: str, key: int = SCHEDULER_LOCK_KEY):
        self.url = url
        self.key = key
        self.lost_reason: str | None = None
        self.unreachable: str | None = None
        """Why the last try could not reach the database, None when it could."""
        self._connection: psycopg.Connection | None = None
        self._held = False
        self._guard = threading.RLock()  # the service's round and its lock check run on two threads

    def try_acquire(self) -> bool:
        """Take the lock if no live session holds it; whether this process holds it now."""
        with self._guard:
            return self._try_acquire()

    def _try_acquire(self) -> bool:
        if self._held:
            return self._still_held()
        try:
            connection = self._open()
            self._held = bool(connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()[0])
        except psycopg.Error as error:
            self._drop(error)
            return False
        self.unreachable = None
        if self._held:
            self.lost_reason = None
        return self._held

    def still_held(self) -> bool:
        """Whether this session still holds the lock, checked on the server (one small query); a dead or
        silent connection means the lock is lost, since PostgreSQL ends (or will end) that session."""
        with self._guard:
            return self._still_held()

    def _still_held(self) -> bool:
        if not self._held or self._connection is None:
            return False
        try:
            held = self._connection.execute(HELD_HERE_QUERY, self._key_parts()).fetchone() is not None
        except psycopg.Error as error:
            self._drop(error)
            self.lost_reason = f"its database connection failed ({_first_line(error)})"
            return False
        if not held:
            self._held = False
            self.lost_reason = "its database session no longer holds the lock"
        return held

    def holder(self) -> str:
        """The machine and pid of the service holding the lock ("machine-b pid 4242"), or "unknown"."""
        with self._guard:
            try:
                row = self._open().execute(HOLDER_QUERY, self._key_parts()).fetchone()
            except psycopg.Error as error:
                self._drop(error)
                return "unknown"
        return describe_holder(row) if row else "nobody"

    def release(self) -> None:
        """Give the lock up and close the connection."""
        with self._guard:
            if self._connection is not None and self._held:
                try:
                    self._connection.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
                except psycopg.Error:
                    pass  # closing the session below releases it all the same
            self._close()

    def _open(self) -> psycopg.Connection:
        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(**lock_connection_settings(self.url))
        return self._connection

    def _drop(self, error: BaseException) -> None:
        """Forget a connection that failed: the session (and any lock it held) is gone or going."""
        self.unreachable = _first_line(error)
        self._close()

    def _close(self) -> None:
        self._held = False
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except psycopg.Error:
                pass

    def _key_parts(self) -> dict[str, int]:
        unsigned = self.key & 0xFFFFFFFFFFFFFFFF
        return {"classid": unsigned >> 32, "objid": unsigned & 0xFFFFFFFF}


def lock_connection_settings(url: str) -> dict[str, Any]:
    """psycopg.connect() arguments for the lock's own connection to `url` (a SQLAlchemy URL): autocommit,
    keepalives and a user timeout on both ends, a statement timeout, and a name saying who holds it."""
    parsed = make_url(url)
    options = " ".join(f"-c {name}={value}" for name, value in SERVER_KEEPALIVE.items())
    settings: dict[str, Any] = {
        "conninfo": parsed.set(drivername="postgresql").render_as_string(hide_password=False),
        "autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S, "tcp_user_timeout": USER_TIMEOUT_MS,
        "application_name": application_name(), "options": options, **CLIENT_KEEPALIVE}
    return settings


def application_name(host: str | None = None, pid: int | None = None) -> str:
    """The lock connection's name in pg_stat_activity: who holds the lock (at most 63 bytes, PostgreSQL's limit)."""
    name = f"{APPLICATION_PREFIX}{host or socket.gethostname()} pid {pid or os.getpid()}"
    return name.encode()[:63].decode(errors="ignore")


def describe_holder(row: Any) -> str:
    """A holder row of `HOLDER_QUERY` as "machine pid N" (or the connection's address and backend pid)."""
    name, address, backend_pid = row
    if name and name.startswith(APPLICATION_PREFIX):
        return name[len(APPLICATION_PREFIX):]
    return f"a session from {address or 'a local socket'} (backend pid {backend_pid})"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
