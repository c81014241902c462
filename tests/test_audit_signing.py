"""Signed checkpoints: the key outside the home, when logs are sealed, anchors, and logs written without a key."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bastidor.audit import AuditLog, CheckpointPolicy, SecretMasker, load_signing_key, verify_audit_log
from bastidor.audit.anchors import AnchorStore, anchors_folder
from bastidor.cli.main import main
from bastidor.console.console_audit import ConsoleAudit

REPO = Path(__file__).resolve().parents[1]


def records_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def events_of(path: Path) -> list[str]:
    return [record["event"] for record in records_of(path)]


def write_run_log(path: Path, steps: int, run_id: str = "run-1", **options) -> None:
    with AuditLog.open(path, run_id=run_id, flow="orders", flow_sha256="f" * 64, **options) as log:
        log.event("run.started")
        for index in range(steps):
            log.event("step", index=index, outcome="passed")
        log.event("run.finished", status="succeeded")


@pytest.fixture
def own_key_file(tmp_path, monkeypatch) -> Path:
    """A signing key location of this test's own, not created yet."""
    path = tmp_path / "config" / "bastidor" / "audit-signing.key"
    monkeypatch.setenv("BASTIDOR_AUDIT_KEY_FILE", str(path))
    return path


def test_signing_key_is_made_on_first_use_readable_by_its_owner_only(own_key_file, tmp_path):
    write_run_log(tmp_path / "audit.jsonl", steps=1)
    assert stat.S_IMODE(own_key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(own_key_file.parent.stat().st_mode) == 0o700
    assert own_key_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert verify_audit_log(tmp_path / "audit.jsonl").ok


def test_audit_key_command_creates_the_key_says_so_and_prints_a_public_key_verify_accepts(own_key_file, tmp_path,
                                                                                          capsys, monkeypatch):
    assert main(["--home", str(tmp_path / "home"), "audit", "key"]) == 0
    first = capsys.readouterr().out
    assert f"signing key: {own_key_file} (created now)" in first
    assert main(["--home", str(tmp_path / "home"), "audit", "key"]) == 0
    second = capsys.readouterr().out
    assert "(created now)" not in second and f"key id:      {load_signing_key().key_id}" in second
    public = next(line.split()[-1] for line in second.splitlines() if line.startswith("public key:"))
    write_run_log(tmp_path / "audit.jsonl", steps=2)
    monkeypatch.setenv("BASTIDOR_AUDIT_KEY_FILE", str(tmp_path / "elsewhere" / "other.key"))  # another machine
    assert main(["audit", "verify", str(tmp_path / "audit.jsonl"), "--public-key", public,
                 "--anchors", str(anchors_folder(own_key_file))]) == 0
    assert capsys.readouterr().out.startswith("OK:")


def test_audit_key_command_warns_when_the_key_sits_inside_the_home(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BASTIDOR_AUDIT_KEY_FILE", str(tmp_path / "home" / "audit-signing.key"))
    assert main(["--home", str(tmp_path / "home"), "audit", "key"]) == 0
    assert "the signing key is inside the home folder" in capsys.readouterr().err


def test_two_processes_making_the_key_at_once_end_up_with_one_key(own_key_file):
    code = "from bastidor.audit import load_signing_key; print(load_signing_key().key_id)"
    started = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    key_ids = {process.communicate(timeout=60)[0].strip() for process in started}
    assert key_ids == {load_signing_key().key_id}


def test_run_log_is_sealed_after_its_first_record_every_hundred_records_and_when_it_closes(tmp_path):
    path = tmp_path / "audit.jsonl"
    write_run_log(path, steps=250)
    records = records_of(path)
    checkpoints = [record["seq"] for record in records if record["event"] == "audit.checkpoint"]
    assert checkpoints == [2, 103, 204, len(records)]
    assert records[-2]["event"] == "run.finished"
    result = verify_audit_log(path)
    assert result.ok and result.checkpoints == 4 and result.proven_seq == len(records) - 1


def test_a_checkpoint_is_due_after_its_interval_in_seconds_at_the_next_event(tmp_path):
    path = tmp_path / "audit.jsonl"
    write_run_log(path, steps=3, checkpoints=CheckpointPolicy(every_records=100, every_seconds=0.0))
    assert events_of(path) == ["run.started", "audit.checkpoint", "step", "audit.checkpoint", "step",
                               "audit.checkpoint", "step", "audit.checkpoint", "run.finished", "audit.checkpoint"]
    assert verify_audit_log(path).ok


def test_a_policy_sparser_than_the_verifier_allows_is_refused():
    with pytest.raises(ValueError, match="between 1 and 100"):
        CheckpointPolicy(every_records=500)


def test_each_checkpoint_leaves_its_seal_in_the_anchor_outside_the_home(tmp_path, audit_signing_key):
    path = tmp_path / "audit.jsonl"
    write_run_log(path, steps=5)
    records = records_of(path)
    anchor = AnchorStore(anchors_folder(audit_signing_key)).load("run-1", records[0]["hash"])
    assert (anchor.seq, anchor.hash) == (records[-2]["seq"], records[-2]["hash"])  # what the last checkpoint sealed
    assert anchor.signature == records[-1]["signature"]


def test_console_journal_holds_only_the_records_written_and_its_anchor_follows_each_one(tmp_path, audit_signing_key):
    path = tmp_path / "audit" / "console.jsonl"
    journal = ConsoleAudit(path)
    for index in range(3):
        journal.record("maria", "exception.assign", item_ref=f"ORD-{index}")
    records = records_of(path)
    assert [record["seq"] for record in records] == [1, 2, 3] and set(events_of(path)) == {"console.action"}
    anchor = AnchorStore(anchors_folder(audit_signing_key)).load("console", records[0]["hash"])
    assert (anchor.seq, anchor.hash) == (3, records[-1]["hash"])
    assert verify_audit_log(path).ok


def test_log_written_without_a_usable_key_says_why_and_verifies_as_unsigned_not_tampered(tmp_path, monkeypatch):
    (tmp_path / "plain-file").write_text("not a folder")
    monkeypatch.setenv("BASTIDOR_AUDIT_KEY_FILE", str(tmp_path / "plain-file" / "audit-signing.key"))
    path = tmp_path / "audit.jsonl"
    write_run_log(path, steps=2)
    first = records_of(path)[0]
    assert first["event"] == "audit.unsigned" and "cannot create the audit signing key" in first["reason"]
    assert events_of(path)[1:] == ["run.started", "step", "step", "run.finished"]
    result = verify_audit_log(path)
    assert result.verdict == "unsigned" and result.exit_code == 1 and not result.errors
    assert main(["audit", "verify", str(path)]) == 1


def test_journal_written_while_the_key_was_missing_is_sealed_again_once_it_is_back(tmp_path, monkeypatch):
    path = tmp_path / "audit" / "console.jsonl"
    (tmp_path / "plain-file").write_text("not a folder")
    monkeypatch.setenv("BASTIDOR_AUDIT_KEY_FILE", str(tmp_path / "plain-file" / "audit-signing.key"))
    ConsoleAudit(path).record("maria", "user.add", name="bob")
    ConsoleAudit(path).record("maria", "user.remove", name="bob")
    assert events_of(path) == ["audit.unsigned", "console.action", "console.action"]  # said once
    assert verify_audit_log(path).verdict == "unsigned"
    monkeypatch.setenv("BASTIDOR_AUDIT_KEY_FILE", str(tmp_path / "config" / "audit-signing.key"))
    ConsoleAudit(path).record("maria", "user.add", name="carol")
    assert events_of(path)[3:] == ["audit.checkpoint", "console.action"]
    assert verify_audit_log(path).ok


def test_secret_values_that_occur_in_signatures_never_mask_them(tmp_path):
    masker = SecretMasker(values=["+", "/", "Q", "Z", "k"])  # base64 signatures are full of these
    path = tmp_path / "audit.jsonl"
    with AuditLog.open(path, run_id="run-1", flow="orders", flow_sha256="f" * 64, masker=masker) as log:
        log.event("run.started", note="the secret is Q")
        log.event("run.finished")
    assert records_of(path)[0]["note"] == "the secret is ***"
    assert verify_audit_log(path).ok


def test_a_log_may_not_write_the_logs_own_records_itself(tmp_path):
    with AuditLog.open(tmp_path / "audit.jsonl", run_id="r", flow="orders", flow_sha256="") as log:
        with pytest.raises(ValueError, match="writes audit.checkpoint records itself"):
            log.event("audit.checkpoint", signature="forged")


FILL_UNTIL_FULL = """
import resource, sys
from bastidor.audit import AuditLog, AuditWriteError
resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000))
log = AuditLog.open(sys.argv[1], run_id="run-1", flow="orders", flow_sha256="f" * 64)
try:
    for index in range(1000):
        log.event("step", index=index, note="x" * 97)
except AuditWriteError as error:
    print(error)
"""


def test_a_write_cut_short_by_a_full_disk_is_cut_back_to_the_last_whole_record(tmp_path):
    path = tmp_path / "audit.jsonl"
    done = subprocess.run([sys.executable, "-c", FILL_UNTIL_FULL, str(path)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "Could not write to the audit log" in done.stdout, done.stderr
    data = path.read_bytes()
    assert data.endswith(b"\n") and len(data) < 6000
    assert all(json.loads(line) for line in data.splitlines())
    result = verify_audit_log(path)
    assert result.verdict == "incomplete" and not any("cut short" in p.message for p in result.problems)


def test_verifying_without_any_public_key_says_which_key_to_pass(tmp_path, monkeypatch):
    path = tmp_path / "audit.jsonl"
    write_run_log(path, steps=1)
    monkeypatch.setenv("BASTIDOR_AUDIT_KEY_FILE", str(tmp_path / "no-key-here" / "audit-signing.key"))
    result = verify_audit_log(path)
    assert result.verdict == "not_verified"
    assert "there is no public key to check the log's signatures with" in result.first_problem.message
    assert not (tmp_path / "no-key-here").exists(), "verifying never creates a key"


FULL_AFTER_FIRST_RECORD = """
import resource, sys
from bastidor.audit import AuditLog, AuditWriteError
resource.setrlimit(resource.RLIMIT_FSIZE, (400, 400))
log = AuditLog.open(sys.argv[1], run_id="run-1", flow="orders", flow_sha256="f" * 64)
try:
    log.event("run.started")
except AuditWriteError as error:
    print(error)
"""


def test_a_disk_full_right_after_the_first_record_leaves_an_incomplete_log_sealed_once_it_goes_on(tmp_path):
    path = tmp_path / "audit.jsonl"
    done = subprocess.run([sys.executable, "-c", FULL_AFTER_FIRST_RECORD, str(path)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "Could not write to the audit log" in done.stdout, done.stderr
    assert events_of(path) == ["run.started"]
    result = verify_audit_log(path)
    assert result.verdict == "incomplete" and "only the first record was written" in result.first_problem.message
    with AuditLog.open(path, run_id="run-1", flow="orders", flow_sha256="f" * 64) as log:  # the disk has room again
        log.event("run.finished", status="crashed")
    assert events_of(path) == ["run.started", "audit.checkpoint", "run.finished", "audit.checkpoint"]
    assert verify_audit_log(path).ok
