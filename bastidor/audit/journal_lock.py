"""One writer at a time for an open-ended journal (the console's, the triggers'): each writer opens the log,
appends its record and closes it again, so processes must take turns or two of them would continue the same
record and fork the hash chain. The lock is a file beside the journal, held with `flock`."""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def journal_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the journal at `path` (across processes) for the length of the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
