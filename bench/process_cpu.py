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


class TreeCpu:
    """Samples the CPU time of `root_pid`'s descendants (and itself) in a thread until `stop()`."""

    def __init__(self, root_pid: int, interval: float = 0.2):
        self.root_pid = root_pid
        self.interval = interval
        self._seen: dict[tuple[int, str], tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> "TreeCpu":
        """Begin sampling."""
        self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        """Stop sampling; CPU seconds by kind of process (python, node, chromium browser, renderer ...)."""
        self._sample()
        self._stop.set()
        self._thread.join()
        totals: dict[str, float] = defaultdict(float)
        for kind, seconds in self._seen.values():
            totals[kind] += seconds
        return dict(totals)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
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
        return "exited, not yet reaped"
    if "playwright/driver" in command:
        return "Playwright driver"
    if "chrom" in command:
        kind = command.split("--type=", 1)[1].split()[0] if "--type=" in command else "browser"
        return f"chromium {kind}"
    return "python (service and worker)" if "python" in command else command.split(" ", 1)[0]
