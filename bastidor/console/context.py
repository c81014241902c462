"""What every console page works with: the home folder, the run store, the queue, users, audit, the console db.

``get_context(request)`` returns the `ConsoleContext` the app was built with. Tests build one with
`open_context(home)` (or ``tests/console_support.make_console``) and use it without HTTP. With a shared
database (`--database URL`) the store, the queue and the console db are its tables, so a console on any
machine shows the runs, items and users of every machine; the home folder keeps the console's own files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import Engine
from starlette.requests import Request

from bastidor.cli.common import open_store
from bastidor.console.console_audit import ConsoleAudit, console_audit_path
from bastidor.console.db import close_console_db, open_console_db
from bastidor.console.users import UserStore
from bastidor.queue import WorkQueue, open_work_queue
from bastidor.store import RunStore
from bastidor.database.places import places_for


@dataclass
class ConsoleContext:
    """The console's resources; one per app, shared by all requests (each is thread-safe)."""

    home: Path
    flows_dir: Path
    schedules_path: Path
    store: RunStore
    queue: WorkQueue
    users: UserStore
    audit: ConsoleAudit
    db: Engine

    @property
    def runs_dir(self) -> Path:
        """The folder holding one sub-folder per run (audit log, screenshots, report)."""
        return self.home / "runs"

    def close(self) -> None:
        """Release the store, queue and database connections (a shared PostgreSQL engine stays open)."""
        self.store.close()
        self.queue.close()
        close_console_db(self.db)


def open_context(home: str | Path, flows_dir: str | Path = "flows", schedules_path: str | Path = "schedules.yaml",
                 *, store: RunStore | None = None, hasher: PasswordHasher | None = None) -> ConsoleContext:
    """Open everything the console needs for this home folder (created when missing).

    `store` replaces the home folder's run store (tests pass the store a run was recorded in);
    `hasher` replaces the default argon2 parameters (tests use cheaper ones).
    """
    home = Path(home).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    places = places_for(home)
    db = open_console_db(places.console)
    return ConsoleContext(
        home=home, flows_dir=Path(flows_dir).resolve(), schedules_path=Path(schedules_path).resolve(),
        store=store or open_store(home), queue=open_work_queue(places.queue),
        users=UserStore(db, hasher), audit=ConsoleAudit(console_audit_path(home)), db=db)


def get_context(request: Request) -> ConsoleContext:
    """The console context of the app serving this request."""
    return request.app.state.console
