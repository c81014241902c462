"""Helpers shared by the command-line commands: the home folder, the run store, messages."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported only by the commands that use it
    from bastidor.store import RunRecord, RunStore


def home_dir(args) -> Path:
    """The folder for runs and the run store: --home, $BASTIDOR_HOME, or ./.bastidor."""
    return Path(getattr(args, "home", None) or os.environ.get("BASTIDOR_HOME") or ".bastidor")


def open_store(home: Path) -> RunStore:
    """The run store for this home folder: the shared database when one is set, else home/runs.db
    ($BASTIDOR_STORE may name another database for it)."""
    from bastidor.database import places_for
    from bastidor.store import open_run_store

    return open_run_store(places_for(home).runs)


def find_run(store: RunStore, run_ref: str) -> RunRecord | None:
    """A run by id or unique id prefix; `last` means the newest run. Prints why when not found."""
    from bastidor.store import StoreError

    if run_ref == "last":
        runs = store.list_runs(limit=1)
        run = runs[0] if runs else None
    else:
        try:
            run = store.get_run(run_ref)
        except StoreError as error:
            error_out(str(error))
            return None
    if run is None:
        error_out(f"no run '{run_ref}': see `bastidor runs list`")
    return run


def database_errors_in_one_line(handler: Callable[[object], int]) -> Callable[[object], int]:
    """Wrap a command: a run store, work queue or console database that cannot be opened or read (the
    shared database is down, its URL is wrong, its schema is from another version) prints one line
    naming the database and exits 2, instead of a traceback."""
    @functools.wraps(handler)
    def run(args) -> int:
        from sqlalchemy.exc import SQLAlchemyError

        from bastidor.queue import QueueError
        from bastidor.store import StoreError

        try:
            return handler(args)
        except (StoreError, QueueError) as error:
            error_out(str(error))
        except SQLAlchemyError as error:
            error_out(database_problem(args, error))
        return 2

    return run


def database_problem(args, error: Exception) -> str:
    """One line for a database error met by a command: which database, the cause, what to check."""
    from bastidor.database import places_for

    original = getattr(error, "orig", None) or error
    cause = (str(original).strip().splitlines() or [type(original).__name__])[0]
    return (f"the database ({places_for(home_dir(args)).describe()}) cannot be used: {cause}. Check that it "
            "is running and reachable, and the URL in --database or $BASTIDOR_DATABASE_URL")


def os_user() -> str:
    """The operating-system user running the command (who asked, for the audit log)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


def error_out(message: str) -> None:
    """Print an error for the user on standard error."""
    print(f"error: {message}", file=sys.stderr)
