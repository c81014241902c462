"""A browser that dies mid-run is a crash (the infrastructure's fault), not a failed flow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

HANGING_FLOW = """
name: Waits for ever
bot: {timeout: 60s}
steps:
  - open: "about:blank"
  - wait_for_text: This text never appears
  - log: not reached
"""


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def browser_processes(pid: int) -> list[int]:
    names = []
    for child in descendants(pid):
        try:
            if b"chrom" in Path(f"/proc/{child}/cmdline").read_bytes():
                names.append(child)
        except OSError:
            pass
    return names


def test_killed_browser_ends_the_run_as_crashed_not_failed(tmp_path):
    flow = tmp_path / "hang.yaml"
    flow.write_text(HANGING_FLOW)
    home = tmp_path / "home"
    run = subprocess.Popen([sys.executable, str(REPO / "runner.py"), "--home", str(home), "run", str(flow)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not browser_processes(run.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # let the wait step begin
    for pid in browser_processes(run.pid):
        os.kill(pid, signal.SIGKILL)
    output, _ = run.communicate(timeout=90)
    assert run.returncode == 3, output
    assert "CRASHED Waits for ever" in output
    records = [json.loads(line) for line in next(home.rglob("audit.jsonl")).read_text().splitlines()]
    steps = {r["step_path"]: r["outcome"] for r in records if r["event"] == "step"}
    assert steps == {"1": "passed", "2": "crashed", "3": "not_run"}
    assert records[-1]["event"] == "run.finished" and records[-1]["status"] == "crashed"
