"""Driving the real service in tests: a flow of items from a CSV, `serve` as a process with its output in a
file, `trigger`, and waits on observable state (a queue row, a line of output), never on a fixed sleep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bastidor.queue import open_work_queue
from bastidor.store import open_run_store

REPO = Path(__file__).resolve().parents[1]
STARTED: list[subprocess.Popen] = []
"""Every service a test started, so that `kill_leftover_services` can end those a failed test left behind."""

ITEM_FLOW = """
name: Slow items
steps:
  - read_csv: {{path: items.csv, into: rows}}
  - for_each_item: "{{{{ rows }}}}"
    item_ref: "{{{{ row.ref }}}}"
    retry_wait: 1s
    steps:
      - wait: {wait}
      - log: "done {{{{ row.ref }}}}"
"""


def write_items(folder: Path, count: int, wait: str = "0s") -> None:
    """`items.csv` with `count` references and `items.yaml`, a flow that waits `wait` per item."""
    (folder / "items.csv").write_text("ref\n" + "".join(f"R{n:05d}\n" for n in range(1, count + 1)))
    (folder / "items.yaml").write_text(ITEM_FLOW.format(wait=wait))


def write_schedules(folder: Path, every: str = "1s", grace: str = "1m", enabled: bool = True) -> Path:
    """`schedules.yaml` with one schedule, `tick`, running items.yaml every `every`."""
    path = folder / "schedules.yaml"
    path.write_text(f"schedules:\n  - id: tick\n    flow: items.yaml\n    trigger: {{interval: {every}}}\n"
                    f"    timezone: UTC\n    misfire_grace: {grace}\n    overlap: allow\n"
                    f"    enabled: {str(enabled).lower()}\n")
    return path


def serve(folder: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """Start `serve`; its output goes to a log file (see `output`), so the test never blocks on a pipe."""
    log = folder / f"serve-{time.monotonic_ns()}.log"
    process = subprocess.Popen([sys.executable, str(REPO / "runner.py"), "--home", str(folder / "home"),
                                "serve", "--schedules", str(folder / "schedules.yaml"), *args],
                               cwd=folder, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True,
                               env=env or dict(os.environ))
    process.log = log
    STARTED.append(process)
    return process


def kill_leftover_services() -> None:
    """Kill every service a test started that still runs, and its bots (a failed assertion skips `stop`)."""
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            for child in children_of(process.pid):
                os.kill(child, signal.SIGKILL)
            process.kill()
            process.wait()


def output(process: subprocess.Popen) -> str:
    """Everything the process printed so far."""
    return process.log.read_text()


def started(process: subprocess.Popen) -> bool:
    """The service has decided whether it is the active scheduler."""
    text = output(process)
    return "scheduler active" in text or "stands by" in text


def runner(folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`runner.py --home folder/home ARGS`, as an operator would type it."""
    return subprocess.run([sys.executable, str(REPO / "runner.py"), "--home", str(folder / "home"), *args],
                          check=check, capture_output=True, text=True, cwd=folder)


def trigger(folder: Path, flow: str = "items.yaml") -> None:
    """`runner.py trigger` a flow of the folder."""
    runner(folder, "trigger", str(folder / flow))


def wait_until(check, timeout: float = 60.0, every: float = 0.2) -> bool:
    """Poll `check` until it is true; False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return False


def stop(process: subprocess.Popen, timeout: float = 60) -> str:
    """SIGTERM the service and wait for it; its output."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    process.wait(timeout=timeout)
    return output(process)


def stop_all(processes: list[subprocess.Popen], timeout: float = 60) -> list[str]:
    """SIGTERM every service at once (so none takes over from another while they stop); their outputs."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:  # one SIGTERM each: a second one could land while Python is exiting, and kill it
        process.wait(timeout=timeout)
    return [output(process) for process in processes]


def queue_of(folder: Path):
    """The home's work queue."""
    return open_work_queue(folder / "home" / "queue.db")


def runs_of(folder: Path) -> list:
    """Every run in the home's run store, newest first."""
    with open_run_store(folder / "home" / "runs.db") as store:
        return store.list_runs(limit=10_000)


def store_items(folder: Path, run_id: str) -> list:
    """A run's items in the run store."""
    with open_run_store(folder / "home" / "runs.db") as store:
        return store.list_items(run_id)


def worker_pid(lease_owner: str) -> int:
    """The process id inside a worker id (host-pid-wN)."""
    return int(lease_owner.split("-")[-2])


def children_of(pid: int) -> list[int]:
    """The live child processes of `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[1] == str(pid) and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def processes_running(*markers: str) -> list[int]:
    """Live processes whose command line contains every one of `markers` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if all(marker in command for marker in markers) and state != "Z":
                found.append(int(entry.name))
    return found
