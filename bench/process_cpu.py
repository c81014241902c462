"""CPU seconds of a process tree, by kind of process, sampled from /proc while it runs (Linux only).

getrusage(RUSAGE_CHILDREN) misses what a descendant never reaped (Chromium's renderers, a driver killed with
its parent), so benchmarks sample the tree instead: every `interval` seconds each live descendant's user plus
system time is read and the last value seen per process kept. A process that lives less than one interval, or
the last interval of each process, is missed: the figures are a slight undercount.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
EXITED = "exited, not yet reaped"


class TreeCpu:
    """Samples the CPU time of `root_pid`'s descendants (and itself) in a thread until `stop()`."""

    def __init__(self, root_pid: int, interval: float = 0.2):
        self.root_pid = root_pid
        self.interval = interval
        self._seen: dict[tuple[int, str], tuple[str, float]] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> "TreeCpu":
        """Begin sampling."""
        self._thread.start()
        return self

    def snapshot(self) -> dict[str, float]:
        """CPU seconds by kind of process so far (sampled now), without stopping."""
        with self._lock:
            self._sample()
            totals: dict[str, float] = defaultdict(float)
            for kind, seconds in self._seen.values():
                totals[kind] += seconds
            return dict(totals)

    def stop(self) -> dict[str, float]:
        """Stop sampling; CPU seconds by kind of process (python, node, chromium browser, renderer ...)."""
        totals = self.snapshot()
        self._stop.set()
        self._thread.join()
        return totals

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                self._sample()

    def _sample(self) -> None:
        table = _process_table()
        children: dict[int, list[int]] = defaultdict(list)
        for pid, (parent, *_rest) in table.items():
            children[parent].append(pid)
        pending = [self.root_pid]
        while pending:
            pid = pending.pop()
            if pid in table:
                _parent, started, seconds, kind = table[pid]
                known = self._seen.get((pid, started))
                if known and kind == EXITED:  # a zombie keeps the kind it was seen with while it ran
                    kind = known[0]
                self._seen[(pid, started)] = (kind, seconds)
            pending.extend(children.get(pid, ()))


def _process_table() -> dict[int, tuple[int, str, float, str]]:
    """pid -> (parent pid, start time, CPU seconds, kind) for every process readable now."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        seconds = (int(fields[11]) + int(fields[12])) / TICKS
        table[int(entry.name)] = (int(fields[1]), fields[19], seconds, _kind(command))
    return table


def _kind(command: str) -> str:
    if not command.strip():
        return EXITED
    if "playwright/driver" in command:
        return "Playwright driver"
    if "chrom" in command:
        kind = command.split("--type=", 1)[1].split()[0] if "--type=" in command else "browser"
        return f"chromium {kind}"
    return "python (service and worker)" if "python" in command else command.split(" ", 1)[0]
