"""The tester's reproductions: someone who can write to the home rewrites, forges or cuts audit logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bastidor.audit import AuditLog, record_hash, verify_audit_log
from bastidor.cli.main import main
from bastidor.console.console_audit import ConsoleAudit
from bastidor.queue import open_work_queue
from bastidor.service.serve import open_service_audit
from bastidor.service.trigger import trigger_run
from bastidor.store import open_run_store

REPO = Path(__file__).resolve().parents[1]
TINY_FLOW = "name: Tiny\nsteps:\n  - log: one\n  - log: two\n  - log: three\n"


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_lines(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records), "utf-8")


def rechain(records: list[dict]) -> list[dict]:
    """What a forger does: recompute every prev_hash and hash so the chain links again."""
    previous = "0" * 64
    for record in records:
        record["prev_hash"] = previous
        record["hash"] = previous = record_hash(record)
    return records


def verify_cli(capsys, *args: str) -> tuple[int, str]:
    code = main(["audit", "verify", *args])
    return code, capsys.readouterr().out


@pytest.fixture
def finished_run(tmp_path, capsys) -> tuple[Path, str]:
    """A real run of a three-step flow through the command line: (home, run id)."""
    (tmp_path / "tiny.yaml").write_text(TINY_FLOW)
    assert main(["--home", str(tmp_path / "home"), "run", str(tmp_path / "tiny.yaml")]) == 0
    capsys.readouterr()
    [run] = open_run_store(tmp_path / "home" / "runs.db").list_runs(limit=1)
    return tmp_path / "home", run.run_id


def test_a_rewritten_run_log_with_a_matching_run_store_hash_is_not_verified(finished_run, capsys):
    home, run_id = finished_run
    log = home / "runs" / run_id / "audit.jsonl"
    records = read_lines(log)
    step = next(record for record in records if record["event"] == "step")
    step["message"] = "something else happened"
    write_lines(log, rechain(records))
    store = open_run_store(home / "runs.db")
    store.update_run(run_id, audit_last_hash=records[-1]["hash"])
    code = main(["--home", str(home), "audit", "verify", run_id])
    out = capsys.readouterr().out
    assert code == 1 and out.startswith("NOT VERIFIED:")
    assert f"line {len(records)} (seq {len(records)}): the checkpoint does not hold: its signature does not match" in out
    assert "the record differs from the one the anchor outside the home sealed" in out


def test_a_run_log_emptied_after_the_run_is_not_verified(finished_run, capsys):
    home, run_id = finished_run
    (home / "runs" / run_id / "audit.jsonl").write_bytes(b"")
    code = main(["--home", str(home), "audit", "verify", run_id])
    out = capsys.readouterr().out
    assert code == 1 and "an anchor outside the home shows that run" in out


def test_three_forged_logs_verified_as_files_are_not_verified(tmp_path, capsys):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from bastidor.audit.keys import SigningKey
    from bastidor.audit.public_keys import key_id_of
    from bastidor.audit.seals import checkpoint_fields, make_seal

    head = {"ts": "2026-11-27T10:00:00.000000Z", "flow_sha256": "f" * 64}
    unsigned = rechain([{"run_id": "r-forged", "seq": n, **head, "event": e, "flow": "orders"}
                        for n, e in enumerate(["run.started", "step", "run.finished"], start=1)])
    write_lines(tmp_path / "run.jsonl", unsigned)
    forger = Ed25519PrivateKey.generate()
    forger_key = SigningKey(tmp_path / "forger.key", forger, key_id_of(forger.public_key()))
    signed = [{"run_id": "r-self-signed", "seq": 1, **head, "event": "run.started", "flow": "orders"}]
    rechain(signed)
    seal = make_seal(forger_key, "r-self-signed", signed[0]["hash"], 1, signed[0]["hash"], head["ts"])
    signed += [{"run_id": "r-self-signed", "seq": 2, **head, "event": "audit.checkpoint", "flow": "orders",
                **checkpoint_fields(seal)}]
    write_lines(tmp_path / "self-signed.jsonl", rechain(signed))
    journal = rechain([{"run_id": "console", "seq": n, **head, "event": "console.action", "flow": "bastidor-console",
                        "user": "admin", "action": "user.add"} for n in (1, 2, 3)])
    write_lines(tmp_path / "console.jsonl", journal)
    for name, reason in (("run.jsonl", "nothing in this log is signed"),
                         ("self-signed.jsonl", f"signed with key {forger_key.key_id}, which is not a key you trust"),
                         ("console.jsonl", "nothing in this log is signed")):
        code, out = verify_cli(capsys, str(tmp_path / name))
        assert code == 1 and out.startswith("NOT VERIFIED:") and reason in out, out


def test_a_console_journal_cut_by_its_last_40_of_77_records_is_not_verified(tmp_path, capsys):
    path = tmp_path / "home" / "audit" / "console.jsonl"
    journal = ConsoleAudit(path)
    for index in range(77):
        journal.record("maria", "exception.assign", item_ref=f"ORD-{index}")
    lines = path.read_text().splitlines(keepends=True)
    assert len(lines) == 77
    path.write_text("".join(lines[:37]))
    code, out = verify_cli(capsys, str(path))
    assert code == 1
    assert "records after line 37 were removed: the anchor outside the home shows the log reached seq 77" in out


WRITE_THEN_DIE = """
import os, signal, sys
from bastidor.audit import AuditLog
log = AuditLog.open(sys.argv[1], run_id=sys.argv[2], flow=sys.argv[3], flow_sha256="0" * 64)
log.event("run.started")
for index in range(int(sys.argv[4])):
    log.event("step", index=index)
os.kill(os.getpid(), signal.SIGKILL)
"""


def write_then_die(path: Path, run_id: str, flow: str, steps: int) -> None:
    """A process that writes a log and is killed before closing it."""
    done = subprocess.run([sys.executable, "-c", WRITE_THEN_DIE, str(path), run_id, flow, str(steps)],
                          capture_output=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == -signal.SIGKILL, done.stderr


def test_a_killed_runs_log_is_incomplete_and_cut_before_its_last_checkpoint_is_not_verified(tmp_path, capsys):
    path = tmp_path / "audit.jsonl"
    write_then_die(path, "run-killed", "orders", steps=150)
    code, out = verify_cli(capsys, str(path))
    assert code == 0 and out.startswith("INCOMPLETE:")
    assert "the records up to line 102 (seq 102) are proven by the signed checkpoint at line 103" in out
    assert "the 50 records after it are not signed" in out and "stopped before it closed the log" in out
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:80]))
    code, out = verify_cli(capsys, str(path))
    assert code == 1
    assert "records after line 80 were removed: the anchor outside the home shows the log reached seq 102" in out


def test_a_killed_services_log_is_incomplete_not_tampered(tmp_path):
    path = tmp_path / "service.jsonl"
    write_then_die(path, "service-killed", "bastidor-service", steps=3)
    result = verify_audit_log(path)
    assert result.verdict == "incomplete" and result.exit_code == 0 and not result.errors


def test_a_stopped_services_log_verifies(tmp_path):
    (tmp_path / "schedules.yaml").write_text("schedules: []\n")
    audit = open_service_audit(tmp_path, tmp_path / "schedules.yaml")
    audit.event("service.started", workers=1)
    audit.event("run.finished", status="stopped")
    audit.close()
    assert verify_audit_log(audit.path).ok


def test_a_clean_triggers_journal_verifies(tmp_path, capsys):
    (tmp_path / "tiny.yaml").write_text(TINY_FLOW)
    queue = open_work_queue(tmp_path / "home" / "queue.db")
    try:
        for key in ("manual-1", "manual-2"):
            trigger_run(queue, tmp_path / "home", str(tmp_path / "tiny.yaml"), tmp_path / "schedules.yaml", {},
                        "maria", key)
    finally:
        queue.close()
    code, out = verify_cli(capsys, str(tmp_path / "home" / "service" / "triggers.jsonl"))
    assert code == 0 and out.startswith("OK:") and "open-ended journal triggers" in out


def test_records_added_after_a_finished_log_closed_are_not_verified(tmp_path):
    path = tmp_path / "audit.jsonl"
    with AuditLog.open(path, run_id="run-1", flow="orders", flow_sha256="f" * 64) as log:
        log.event("run.started")
        log.event("run.finished", status="succeeded")
    records = read_lines(path)
    records.append({**records[0], "seq": len(records) + 1, "event": "step", "note": "added later"})
    write_lines(path, rechain(records))
    result = verify_audit_log(path)
    assert result.verdict == "not_verified"
    assert any("follow the end of the log (run.finished at line 3)" in p.message for p in result.errors)


def test_a_torn_last_line_is_a_log_cut_short_not_an_edit(tmp_path, capsys):
    path = tmp_path / "audit.jsonl"
    write_then_die(path, "run-torn", "orders", steps=2)
    with path.open("ab") as stream:
        stream.write(b'{"run_id":"run-torn","seq":5,"ts":"2026-')
    code, out = verify_cli(capsys, str(path))
    assert code == 0 and out.startswith("INCOMPLETE:")
    assert "warning: log cut short at line 5: its last write was cut off" in out and "was edited" not in out


def test_another_runs_genuine_log_copied_over_a_runs_log_is_not_verified(finished_run, tmp_path, capsys):
    home, first_run = finished_run
    assert main(["--home", str(home), "run", str(tmp_path / "tiny.yaml")]) == 0
    second_run = open_run_store(home / "runs.db").list_runs(limit=1)[0].run_id
    capsys.readouterr()
    (home / "runs" / first_run / "audit.jsonl").write_bytes((home / "runs" / second_run / "audit.jsonl").read_bytes())
    assert main(["--home", str(home), "audit", "verify", first_run]) == 1
    assert f"the log belongs to run {second_run}, not to run {first_run}" in capsys.readouterr().out


def test_more_unsigned_records_after_the_last_seal_than_a_writer_leaves_are_not_verified(tmp_path):
    path = tmp_path / "audit.jsonl"
    write_then_die(path, "run-padded", "orders", steps=10)
    records = read_lines(path)
    records += [{**records[-1], "seq": records[-1]["seq"] + n, "note": "added"} for n in range(1, 121)]
    for before, record in zip(records, records[1:]):
        record["prev_hash"] = before["hash"]
        record["hash"] = record_hash(record)
    write_lines(path, records)
    [problem] = verify_audit_log(path).errors
    assert "more than Bastidor ever leaves unsigned (110): records were added to the log after line 1" in problem.message
