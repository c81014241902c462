"""Operators handle the work queue from the command line: list a flow's items, read one item's history,
and send a failed item back for another try, recorded in the audit log with who asked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bastidor.audit.verify import verify_audit_log
from bastidor.queue import NewItem, open_work_queue

REPO = Path(__file__).resolve().parents[1]


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "runner.py"), "--home", str(home), "items", *args],
                          capture_output=True, text=True, timeout=60)


def failed_item(home: Path) -> int:
    with open_work_queue(home / "queue.db") as queue:
        queue.add_items("Order entry", [NewItem("ORD-1", {"n": 1}), NewItem("ORD-2", {"n": 2})])
        item = queue.claim_item("Order entry", "bot-1", 30)
        queue.fail_item(item.id, "bot-1", "Customer is blocked", business=True)
        return item.id


def test_operator_lists_failed_items_and_requeues_one_with_a_note_in_history_and_audit(tmp_path):
    item_id = failed_item(tmp_path)
    listed = json.loads(cli(tmp_path, "list", "Order entry", "--state", "failed", "--json").stdout)
    assert [(item["id"], item["reason"]) for item in listed] == [(item_id, "Customer is blocked")]
    done = cli(tmp_path, "requeue", str(item_id), "--note", "customer unblocked")
    assert done.returncode == 0 and "queued again" in done.stdout
    history = cli(tmp_path, "history", str(item_id)).stdout
    assert "failed -> new" in history and "customer unblocked" in history
    log = tmp_path / "audit" / "console.jsonl"
    record = json.loads(log.read_text().splitlines()[-1])
    assert (record["action"], record["item_ref"], record["via"]) == ("item.requeue", "ORD-1", "cli")
    assert verify_audit_log(log).ok


def test_requeueing_an_item_that_has_not_failed_is_refused_with_the_reason(tmp_path):
    failed_item(tmp_path)
    with open_work_queue(tmp_path / "queue.db") as queue:
        waiting = queue.items("Order entry", state="new")[0]
    refused = cli(tmp_path, "requeue", str(waiting.id))
    assert refused.returncode == 2 and "only a failed item can be sent back" in refused.stderr
    assert "Traceback" not in refused.stderr
