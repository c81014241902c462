"""Facts about other processes on this machine."""

from __future__ import annotations

import os


def is_alive(pid: int) -> bool:
    """Whether a process with this id runs (a zombie that was not reaped yet counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True
