"""Storage faults are crashes, stated plainly, and never the end of the service: a read-only run store or a
full disk ends `run` as crashed (exit 3) with one line naming the file and the cause, and no traceback; the
service reports the fault, keeps its bots, tries again with backoff, and goes on once space is back."""

from __future__ import annotations

import subprocess

import pytest
import sys

from bastidor.audit import verify_audit_log
from disk_support import disk_filled, immutable
from service_support import REPO, children_of, output, queue_of, runner, serve, started, stop, wait_until

QUICK_FLOW = """
name: Quick
steps:
  - for_each_item: "{{ ['A', 'B'] }}"
    item_ref: "{{ row }}"
    steps:
      - log: "entered {{ row }}"
"""

SLOW_FLOW = """
name: Slow
steps:
  - for_each_item: "{{ ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'] }}"
    item_ref: "{{ row }}"
    steps:
      - log: "entered {{ row }}"
      - wait: 500ms
"""


def run_flow_cli(home, flow) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "runner.py"), "--home", str(home), "run", str(flow)],
                          capture_output=True, text=True, timeout=120)


def test_a_read_only_run_store_ends_the_run_crashed_with_a_line_naming_it(tmp_path):
    flow = tmp_path / "quick.yaml"
    flow.write_text(QUICK_FLOW)
    home = tmp_path / "home"
    assert run_flow_cli(home, flow).returncode == 0
    with immutable(home / "runs.db"):
        done = run_flow_cli(home, flow)
    text = done.stdout + done.stderr
    assert done.returncode == 3, text
    assert "CRASHED Quick" in text and "Traceback" not in text
    assert f"The run store {home / 'runs.db'} cannot be written: attempt to write a readonly database" in text
    listed = runner(tmp_path, "runs", "list").stdout
    assert "running" not in listed, "the run the store could not record is ended from its audit log"


def test_a_full_disk_ends_the_run_crashed_with_its_log_cut_cleanly(tmp_path, small_disk):
    flow = tmp_path / "slow.yaml"
    flow.write_text(SLOW_FLOW)
    home = small_disk / "home"
    process = subprocess.Popen([sys.executable, str(REPO / "runner.py"), "--home", str(home), "run", str(flow)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert wait_until(lambda: '"entered B"' in _audit_text(home), timeout=60)
    with disk_filled(small_disk):
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 3, out
    assert "No space left on device" in out and "audit.jsonl" in out and "Traceback" not in out
    log = next(home.rglob("audit.jsonl"))
    assert log.read_bytes().endswith(b"\n"), "no half-written record is left at the end"
    verdict = verify_audit_log(log)
    assert not [p for p in verdict.problems if p.severity == "error"], verdict.problems
    assert "crashed" in runner(small_disk, "runs", "list").stdout


def _audit_text(home) -> str:
    logs = list(home.rglob("audit.jsonl"))
    return logs[0].read_text(errors="replace") if logs else ""


ITEMS = 30
SERVICE_FLOW = """
name: Slow
steps:
  - read_csv: {path: items.csv, into: rows}
  - for_each_item: "{{ rows }}"
    item_ref: "{{ row.ref }}"
    max_attempts: 10
    retry_wait: 500ms
    steps:
      - log: "entered {{ row.ref }}"
      - wait: 300ms
"""


def test_the_service_survives_a_full_disk_keeps_its_bots_and_carries_on_when_space_is_back(small_disk):
    folder = small_disk
    (folder / "items.csv").write_text("ref\n" + "".join(f"R{n:03d}\n" for n in range(ITEMS)))
    (folder / "items.yaml").write_text(SERVICE_FLOW)
    (folder / "schedules.yaml").write_text("schedules: []\n")
    service = serve(folder, "--workers", "1", "--lease", "2")
    assert wait_until(lambda: started(service) and len(children_of(service.pid)) == 1, timeout=90)
    bots = children_of(service.pid)
    runner(folder, "trigger", str(folder / "items.yaml"))
    assert wait_until(lambda: _successful(folder) >= 3, timeout=90), output(service)
    with disk_filled(small_disk):
        assert wait_until(lambda: "the service keeps running" in output(service), timeout=60), output(service)
        assert "Free disk space" in output(service)
        assert service.poll() is None and children_of(service.pid) == bots, "the service and its bot live on"
    assert wait_until(lambda: "storage fault cleared" in output(service), timeout=90), output(service)
    assert wait_until(lambda: _final(folder) == ITEMS, timeout=240), output(service)
    stop(service, timeout=120)
    with queue_of(folder) as queue:
        items = queue.items("Slow")
        assert all([e.to_state for e in queue.history(i.id)].count("successful") <= 1 for i in items)
    assert "running" not in runner(folder, "runs", "list").stdout


def _successful(folder) -> int:
    with queue_of(folder) as queue:
        return queue.counts("Slow")["successful"]


def _final(folder) -> int:
    with queue_of(folder) as queue:
        counts = queue.counts("Slow")
    return counts["successful"] + counts["failed"]


def test_runs_list_shows_the_fault_a_service_is_working_through_until_it_clears(tmp_path):
    (tmp_path / "items.csv").write_text("ref\n" + "".join(f"R{n:03d}\n" for n in range(10)))
    (tmp_path / "items.yaml").write_text(SERVICE_FLOW)
    (tmp_path / "schedules.yaml").write_text("schedules: []\n")
    service = serve(tmp_path, "--workers", "1", "--lease", "2")
    assert wait_until(lambda: started(service), timeout=90)
    runner(tmp_path, "trigger", str(tmp_path / "items.yaml"))
    assert wait_until(lambda: _successful(tmp_path) >= 2, timeout=90), output(service)
    queue_files = [tmp_path / "home" / name for name in ("queue.db", "queue.db-wal")]
    with immutable(*queue_files):
        assert wait_until(lambda: "the service keeps running" in output(service), timeout=60), output(service)
        listed = runner(tmp_path, "runs", "list").stdout
        assert "reports a storage fault" in listed and "queue.db" in listed, listed
        assert service.poll() is None
    assert wait_until(lambda: "storage fault cleared" in output(service), timeout=90), output(service)
    assert "storage fault" not in runner(tmp_path, "runs", "list").stdout
    assert wait_until(lambda: _final(tmp_path) == 10, timeout=180), output(service)
    stop(service, timeout=120)


def test_the_service_log_that_could_not_be_written_is_reopened_with_what_was_lost(tmp_path):
    from bastidor.service.serve import open_service_audit

    (tmp_path / "schedules.yaml").write_text("schedules: []\n")
    journal = open_service_audit(tmp_path / "home", tmp_path / "schedules.yaml")
    journal.event("service.started")
    with immutable(journal.path):
        journal.event("worker.restarted", worker="w1")
        assert journal.recover() is not None, "the fault is reported while the log cannot be written"
    assert wait_until(lambda: journal.recover() is None, timeout=30)
    journal.close()
    text = journal.path.read_text()
    assert '"event":"audit.resumed"' in text and '"worker.restarted":1' in text
    assert not [p for p in verify_audit_log(journal.path).problems if p.severity == "error"]


def test_a_queue_reopened_while_its_file_was_read_only_can_write_again_once_the_file_can(tmp_path):
    from bastidor.queue.engine import SqliteDatabase
    from bastidor.queue.base import QueueError
    from sqlalchemy import text

    database = SqliteDatabase(tmp_path / "queue.db")
    with database.writing() as connection:
        connection.execute(text("CREATE TABLE notes (body TEXT)"))
    database.close()  # the next connection is opened while the file cannot be written: SQLite opens it read-only
    with immutable(tmp_path / "queue.db"):
        for _ in range(2):
            with pytest.raises(QueueError):
                with database.writing() as connection:
                    connection.execute(text("INSERT INTO notes VALUES ('lost')"))
    with database.writing() as connection:
        connection.execute(text("INSERT INTO notes VALUES ('kept')"))
    with database.reading() as connection:
        assert connection.execute(text("SELECT body FROM notes")).scalars().all() == ["kept"]
    database.close()
