"""What a running service says about itself, for `runs list` and the console: a small JSON file in the home
folder (``service/health.json``), replaced atomically whenever the service's state changes (a storage fault
begins or ends). Writing it is best effort: on a full disk the service's own output still says it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

from bastidor.processes import is_alive


@dataclass
class ServiceHealth:
    """A service process and the fault it is working through, if any."""

    pid: int
    host: str
    updated: str
    fault: str | None = None
    fault_since: str | None = None

    def is_alive(self) -> bool:
        """Whether the process that wrote this still runs (known only on the same host)."""
        return self.host != socket.gethostname() or is_alive(self.pid)


def health_path(home: Path) -> Path:
    """Where a home folder's service writes its health."""
    return Path(home) / "service" / "health.json"


def write_health(home: Path, fault: str | None, since: dt.datetime | None) -> bool:
    """Record this process's state; False when even that cannot be written (the fault itself, often)."""
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    health = ServiceHealth(os.getpid(), socket.gethostname(), now, fault,
                           since.isoformat(timespec="seconds") if since else None)
    path = health_path(home)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(asdict(health)), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        return False
    return True


def read_health(home: Path) -> ServiceHealth | None:
    """The last state a service of this home wrote, None when there is none or it cannot be read."""
    try:
        data = json.loads(health_path(home).read_text(encoding="utf-8"))
        return ServiceHealth(**data)
    except (OSError, ValueError, TypeError):
        return None


FAULT_WAITS_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
"""How long the service, and each of its bots, waits between tries while storage is faulty, fault after fault."""


class FaultWatch:
    """Follows the service's storage faults: says when one starts and ends (its output and the health file)
    and how long to wait before the next try."""

    def __init__(self, home: Path, say=print):
        self.home = home
        self.say = say
        self.fault: str | None = None
        self.since: dt.datetime | None = None
        self.in_a_row = 0

    def failed(self, error: BaseException) -> None:
        """One more try failed with `error`."""
        text = f"{type(error).__name__}: {error}".splitlines()[0]
        self.in_a_row += 1
        if self.fault is None:
            self.since = dt.datetime.now(dt.timezone.utc)
            self.say(f"storage fault: {text}; the service keeps running and tries again with backoff", flush=True)
        if text != self.fault:
            self.fault = text
            write_health(self.home, text, self.since)

    def ok(self) -> str | None:
        """A try went through; returns the fault that just cleared, if one did."""
        cleared, self.fault, self.in_a_row = self.fault, None, 0
        if cleared is not None:
            self.say(f"storage fault cleared: {cleared}", flush=True)
            write_health(self.home, None, None)
        return cleared

    def wait_s(self) -> float:
        """Seconds until the next try: 1 normally, growing while the fault lasts."""
        return FAULT_WAITS_S[min(self.in_a_row, len(FAULT_WAITS_S)) - 1] if self.in_a_row else 1.0
