"""Bots that outlive their service. A worker dies with the service that started it: on Linux the kernel
sends it SIGTERM when its parent dies (the parent-death signal), and on every platform it checks its
parent before each claim. Each worker also leaves a small file in ``home/service/workers/`` while it
runs, so a new `serve` can find workers of a dead service that are still finishing their item, wait for
them, and stop them if they do not end, before it starts its own.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from bastidor.processes import is_alive

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to send this process SIGTERM when its parent dies (Linux only; elsewhere a no-op)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the parent check before each claim still applies
        return


def workers_folder(home: Path) -> Path:
    """Where running workers of this home leave their files."""
    return Path(home) / "service" / "workers"


@contextmanager
def registered_worker(home: Path, worker_id: str, parent_pid: int) -> Iterator[None]:
    """Leave a file saying this worker runs for `parent_pid` while the block runs."""
    folder = workers_folder(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{os.getpid()}.json"
    path.write_text(json.dumps({"pid": os.getpid(), "parent": parent_pid, "worker": worker_id}), encoding="utf-8")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def stray_workers(home: Path) -> list[dict]:
    """Workers of this home that still run although the service that started them is gone."""
    found = []
    for path in sorted(workers_folder(home).glob("*.json")):
        entry = _read(path)
        if entry is None or not _alive_worker(entry["pid"]):
            path.unlink(missing_ok=True)
        elif not is_alive(entry["parent"]) or _parent_of(entry["pid"]) != entry["parent"]:
            found.append(entry)
    return found


def stop_stray_workers(home: Path, timeout_s: float) -> list[dict]:
    """Wait up to `timeout_s` for stray workers to finish their item and exit (they were sent SIGTERM when
    their service died), then kill the ones left; returns the workers that had to be killed."""
    strays = stray_workers(home)
    for entry in strays:
        _signal(entry["pid"], signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while strays and time.monotonic() < deadline:
        time.sleep(0.2)
        strays = [entry for entry in strays if _alive_worker(entry["pid"])]
    for entry in strays:
        _signal(entry["pid"], signal.SIGKILL)
    return strays


def _read(path: Path) -> dict | None:
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        return entry if isinstance(entry.get("pid"), int) and isinstance(entry.get("parent"), int) else None
    except (OSError, ValueError, AttributeError):
        return None


def _alive_worker(pid: int) -> bool:
    """The process runs and is a Bastidor worker (not another program that was given the same pid)."""
    if not is_alive(pid):
        return False
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the file
    return b"bastidor.service.worker" in command and _stat(pid)[:1] != ["Z"]


def _parent_of(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name: state, parent pid, ... (empty when unreadable)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
