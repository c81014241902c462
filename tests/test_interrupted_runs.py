"""Ctrl-C or SIGTERM during `runner.py run`: the run ends as interrupted at once, in the run store and the
audit log, with the item in hand interrupted and nothing after it claimed as done. Real processes, real
signals sent to the whole process group as a terminal's Ctrl-C is."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bastidor.audit import verify_audit_log
from bastidor.store import open_run_store
from service_support import REPO, wait_until

SLOW_FLOW = """
name: Slow orders
steps:
  - for_each_item: "{{ ['A-1', 'A-2', 'A-3'] }}"
    item_ref: "{{ row }}"
    steps:
      - log: "working on {{ row }}"
      - wait: 60s
  - log: after the loop
"""

BROWSER_FLOW = """
name: Waiting page
bot: {{base_url: "{url}", timeout: 60s}}
steps:
  - open: /login
  - wait_for_text: {{text: "This text never appears"}}
"""


def start_run(tmp_path: Path, flow_text: str) -> subprocess.Popen:
    """`runner.py run` in its own process group, as a terminal would start it: with Ctrl-C (SIGINT) acted on,
    even when these tests themselves run in the background of a shell, which starts them with SIGINT ignored."""
    (tmp_path / "flow.yaml").write_text(flow_text)
    return subprocess.Popen([sys.executable, str(REPO / "runner.py"), "--home", str(tmp_path / "home"), "run",
                             str(tmp_path / "flow.yaml")], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=_as_at_a_terminal)


def _as_at_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def audit_records(tmp_path: Path) -> list[dict]:
    logs = list((tmp_path / "home" / "runs").glob("*/audit.jsonl"))
    if not logs:
        return []
    lines = logs[0].read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def has_event(tmp_path: Path, event: str, **fields) -> bool:
    return any(r["event"] == event and all(r.get(k) == v for k, v in fields.items()) for r in audit_records(tmp_path))


def only_run(tmp_path: Path):
    with open_run_store(tmp_path / "home" / "runs.db") as store:
        (run,) = store.list_runs()
        return run, {item.item_ref: item for item in store.list_items(run.run_id)}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_a_run_ends_it_interrupted_with_the_item_in_hand_interrupted(tmp_path, signum):
    process = start_run(tmp_path, SLOW_FLOW)
    # The log step's record is written as it ends, just before the wait starts: signal after it.
    assert wait_until(lambda: has_event(tmp_path, "step", action="log", item_ref="A-1"), timeout=60)
    os.killpg(process.pid, signum)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 130, out
    assert "INTERRUPTED Slow orders" in out and "Traceback" not in out
    run, items = only_run(tmp_path)
    assert run.status == "interrupted" and run.ended_at is not None
    assert {ref: item.status for ref, item in items.items()} == {"A-1": "interrupted"}
    finished = [r for r in audit_records(tmp_path) if r["event"] == "run.finished"]
    assert [r["status"] for r in finished] == ["interrupted"]
    steps = {(r["step_path"], r["outcome"]) for r in audit_records(tmp_path) if r["event"] == "step"}
    # The wait is cut. (On a loaded machine the signal can land in the instant between the two steps, before
    # the wait began: then it has no outcome of its own.) A wait that ran on would outlast communicate's timeout.
    wait_outcome = {outcome for path, outcome in steps if path == "1[1].2"}
    assert wait_outcome <= {"interrupted"} and ("2", "not_run") in steps, steps
    assert not any(path.startswith("1[") and outcome == "passed" and path != "1[1].1" for path, outcome in steps)
    assert verify_audit_log(run.audit_path).ok


def test_ctrl_c_during_a_browser_wait_closes_the_run_as_interrupted(tmp_path, portal):
    process = start_run(tmp_path, BROWSER_FLOW.format(url=portal.url))
    assert wait_until(lambda: has_event(tmp_path, "step", action="open"), timeout=90)
    os.killpg(process.pid, signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 130, out
    run, _ = only_run(tmp_path)
    assert run.status == "interrupted"
    assert has_event(tmp_path, "step", action="wait_for_text", outcome="interrupted")
    assert has_event(tmp_path, "run.finished", status="interrupted")
