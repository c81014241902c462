"""Server-side record of signed-in sessions, so signing out (or removing a user) ends a session for good.

The session cookie is signed but kept by the browser; on its own, a copy of it would stay valid until it
expires even after sign-out. Each sign-in therefore gets a random session id kept in ``console_sessions``
(home/console.db, or the shared database, so removing a user on any machine signs them out of every console);
a cookie whose id is no longer there is treated as signed out.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import Column, Engine, MetaData, String, Table, delete, insert, select

from bastidor.store.records import utc_now
from bastidor.store.schema import UtcDateTime
from bastidor.database.schema import prepare_tables

metadata = MetaData()

sessions_table = Table(
    "console_sessions",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("user_name", String(64), nullable=False, index=True),
    Column("started_at", UtcDateTime, nullable=False),
)


class SessionRegistry:
    """Starts, checks and ends signed-in sessions; sessions older than `max_age_s` no longer count."""

    def __init__(self, engine: Engine, max_age_s: int) -> None:
        self.engine = engine
        self.max_age = timedelta(seconds=max_age_s)
        prepare_tables(engine, "console")

    def start(self, user_name: str) -> str:
        """Record a new session for `user_name` and return its id (also forgets expired sessions)."""
        session_id = secrets.token_urlsafe(32)
        now = utc_now()
        with self.engine.begin() as connection:
            connection.execute(delete(sessions_table).where(sessions_table.c.started_at < now - self.max_age))
            connection.execute(insert(sessions_table).values(session_id=session_id, user_name=user_name,
                                                             started_at=now))
        return session_id

    def is_active(self, session_id: str, user_name: str) -> bool:
        """True when this session was started for `user_name`, has not ended and has not expired."""
        query = select(sessions_table.c.started_at).where(sessions_table.c.session_id == session_id,
                                                          sessions_table.c.user_name == user_name)
        with self.engine.connect() as connection:
            started = connection.execute(query).scalar_one_or_none()
        return started is not None and started >= utc_now() - self.max_age

    def end(self, session_id: str) -> None:
        """End one session (sign-out)."""
        with self.engine.begin() as connection:
            connection.execute(delete(sessions_table).where(sessions_table.c.session_id == session_id))

    def end_all(self, user_name: str) -> None:
        """End every session of `user_name` (the user was removed)."""
        with self.engine.begin() as connection:
            connection.execute(delete(sessions_table).where(sessions_table.c.user_name == user_name))
