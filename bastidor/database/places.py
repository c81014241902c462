"""The one database setting, and where each store lives under it.

Without a setting every store is a SQLite file in the home folder, as it always was. With
`$BASTIDOR_DATABASE_URL` (set by `--database URL` for the command and the bots it starts) the queue, the
run store, the console's users and sessions, the audit records and the evidence all live in that one
PostgreSQL database, so any machine pointed at it sees the work of every other.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

DATABASE_ENV = "BASTIDOR_DATABASE_URL"
STORE_ENV = "BASTIDOR_STORE"
_POSTGRES_SCHEMES = ("postgresql+psycopg://", "postgresql://", "postgres://")
_PASSWORD_PARAMETER = re.compile(r"((?:^|&)password=)[^&]*", re.IGNORECASE)


class DatabaseSettingError(ValueError):
    """The database setting cannot be used; the message says what to write instead."""


def database_url() -> str | None:
    """The shared database named by `$BASTIDOR_DATABASE_URL` (normalised), None when it is not set."""
    text = os.environ.get(DATABASE_ENV, "").strip()
    return normalized_url(text) if text else None


def normalized_url(url: str) -> str:
    """`url` as the SQLAlchemy URL Bastidor opens: ``postgresql://`` and ``postgres://`` use psycopg 3."""
    text = url.strip()
    for scheme in _POSTGRES_SCHEMES:
        if text.startswith(scheme):
            return "postgresql+psycopg://" + text[len(scheme):]
    scheme = text.split("://", 1)[0] if "://" in text else None
    shown = f"(a {scheme} URL)" if scheme else "(not a URL; not shown, as it may hold a password)"
    raise DatabaseSettingError(
        f"The database setting {shown} is not a PostgreSQL URL. Write postgresql+psycopg://USER@HOST:5432/NAME "
        f"(in --database or ${DATABASE_ENV}), or leave it unset to keep everything in the home folder's SQLite files."
    )


def is_postgres(location: object) -> bool:
    """Whether `location` (a path or a URL) names a PostgreSQL database."""
    return str(location).startswith(_POSTGRES_SCHEMES)


def safe_url(url: str) -> str:
    """`url` with any password replaced by ``***`` (``user:PASSWORD@`` and a ``password=`` parameter), for
    messages and logs."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "(a database setting that is not a URL)"
    location, question, query = rest.partition("?")
    if "@" in location:
        credentials, _at, host = location.rpartition("@")
        user, colon, _password = credentials.partition(":")
        location = f"{user}{':***' if colon else ''}@{host}"
    if question:
        query = _PASSWORD_PARAMETER.sub(r"\1***", query)
    return f"{scheme}://{location}{question}{query}"


@dataclass(frozen=True)
class Places:
    """Where each store of one home folder lives: its SQLite file, or the shared PostgreSQL URL."""

    home: Path
    url: str | None = None

    @property
    def shared(self) -> bool:
        """True when the stores live in a shared PostgreSQL database."""
        return self.url is not None

    @property
    def queue(self) -> str | Path:
        """The work queue (and schedule pauses)."""
        return self.url or self.home / "queue.db"

    @property
    def runs(self) -> str | Path:
        """The run store (`$BASTIDOR_STORE` may still name another database for it when none is shared)."""
        return self.url or os.environ.get(STORE_ENV) or self.home / "runs.db"

    @property
    def console(self) -> str | Path:
        """The console's users, sessions, exception workflow and flow versions."""
        return self.url or self.home / "console.db"

    @property
    def notifications(self) -> str | Path:
        """The log of notifications already sent (so none goes out twice)."""
        return self.url or self.home / "notifications.db"

    def describe(self) -> str:
        """Where the stores are, for messages: the URL without its password, or the home folder."""
        return safe_url(self.url) if self.url else f"the SQLite files in {self.home.resolve()}"


def places_for(home: Path) -> Places:
    """The places of `home`'s stores under the current database setting."""
    return Places(Path(home), database_url())
