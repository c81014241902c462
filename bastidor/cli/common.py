"""Helpers shared by the command-line commands: the home folder, the run store, messages."""

from __future__ import annotations

import os
import sys
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
