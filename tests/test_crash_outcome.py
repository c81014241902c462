"""A browser that dies mid-run is a crash (the infrastructure's fault), not a failed flow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from service_support import REPO, wait_until

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


def _first_step_passed(home: Path) -> bool:
    logs = list(home.rglob("audit.jsonl"))
    return bool(logs) and '"step_path":"1"' in logs[0].read_text() and '"outcome":"passed"' in logs[0].read_text()


def test_killed_browser_ends_the_run_as_crashed_not_failed(tmp_path):
    flow = tmp_path / "hang.yaml"
    flow.write_text(HANGING_FLOW)
    home = tmp_path / "home"
    run = subprocess.Popen([sys.executable, str(REPO / "runner.py"), "--home", str(home), "run", str(flow)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert wait_until(lambda: _first_step_passed(home), timeout=90), "the page opened; the wait step begins"
    for pid in browser_processes(run.pid):
        os.kill(pid, signal.SIGKILL)
    output, _ = run.communicate(timeout=90)
    assert run.returncode == 3, output
    assert "CRASHED Waits for ever" in output
    records = [json.loads(line) for line in next(home.rglob("audit.jsonl")).read_text().splitlines()]
    steps = {r["step_path"]: r["outcome"] for r in records if r["event"] == "step"}
    assert steps == {"0": "passed", "1": "passed", "2": "crashed", "3": "not_run"}
    assert [r["status"] for r in records if r["event"] == "run.finished"] == ["crashed"]
