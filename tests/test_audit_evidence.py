"""Evidence files (screenshots, downloads) are checked by their SHA-256; the run page gives the same verdicts."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from bastidor.audit import AuditLog, verify_audit_log
from bastidor.cli.main import main
from bastidor.console.data.run_audit import check_run_audit

FLOWS = Path(__file__).resolve().parents[1] / "flows"
PNG = b"\x89PNG\r\n\x1a\n" + b"pretend image data" * 20


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def run_folder(tmp_path) -> Path:
    """A finished run log naming a failure screenshot, a screenshot step's file and a download, all present."""
    folder = tmp_path / "runs" / "run-7"
    (folder / "screenshots").mkdir(parents=True)
    (folder / "screenshots" / "step-3.png").write_bytes(PNG)
    (folder / "screenshots" / "evidence.png").write_bytes(PNG + b"2")
    (folder / "export.csv").write_text("order,total\nORD-1,12.50\n")
    with AuditLog.open(folder / "audit.jsonl", run_id="run-7", flow="orders", flow_sha256="f" * 64) as log:
        log.event("run.started")
        log.event("step", action="screenshot", outcome="passed",
                  result={"screenshot": "screenshots/evidence.png", "screenshot_sha256": sha256(PNG + b"2")})
        log.event("step", action="download", outcome="passed",
                  result={"file": str(folder / "export.csv"), "sha256": sha256((folder / "export.csv").read_bytes())})
        log.event("step", action="click", outcome="failed", screenshot="screenshots/step-3.png",
                  screenshot_sha256=sha256(PNG))
        log.event("run.finished", status="failed")
    return folder


def test_a_log_whose_evidence_files_all_match_verifies(run_folder):
    result = verify_audit_log(run_folder / "audit.jsonl")
    assert result.ok and result.evidence_files == 3


def test_an_edited_screenshot_is_named_with_its_line(run_folder, capsys):
    (run_folder / "screenshots" / "step-3.png").write_bytes(PNG.replace(b"image", b"IMAGE"))
    assert main(["audit", "verify", str(run_folder / "audit.jsonl")]) == 1
    out = capsys.readouterr().out
    assert ("error: line 5 (seq 5): the evidence file screenshots/step-3.png was changed after it was recorded: its "
            "SHA-256 no longer matches the one in the log") in out


def test_a_deleted_download_is_named_as_missing(run_folder):
    (run_folder / "export.csv").unlink()
    [problem] = verify_audit_log(run_folder / "audit.jsonl").errors
    assert (problem.line, problem.area) == (4, "evidence")
    assert problem.message.endswith("export.csv is missing: it was deleted or moved")


def test_a_run_folder_moved_as_a_whole_still_verifies(run_folder, tmp_path):
    moved = tmp_path / "archive" / "run-7"
    shutil.move(run_folder, moved)
    assert verify_audit_log(moved / "audit.jsonl").ok


def test_evidence_named_outside_the_log_folder_is_not_looked_at(tmp_path):
    (tmp_path / "secret.key").write_bytes(b"k" * 40)
    path = tmp_path / "run" / "audit.jsonl"
    with AuditLog.open(path, run_id="r", flow="orders", flow_sha256="") as log:
        log.event("step", screenshot="../secret.key", screenshot_sha256=sha256(b"k" * 40))
        log.event("run.finished")
    [problem] = verify_audit_log(path).errors
    assert "leads out of the log's folder" in problem.message


EVIDENCE_FLOW = """
name: Evidence
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 2s}
steps:
  - call: LOGIN
  - screenshot: after-login
  - assert_text: {role: heading, equals: Front office}
"""


def test_a_failed_runs_edited_screenshot_fails_verify_and_the_run_page_names_it(fresh_portal, run_flow_file,
                                                                              tmp_path):
    flow = tmp_path / "evidence.yaml"
    flow.write_text(EVIDENCE_FLOW.replace("LOGIN", str(FLOWS / "common" / "login.yaml")))
    run = run_flow_file(flow, base_url=fresh_portal.url)
    assert run.result.status == "failed"
    assert check_run_audit(run.store.get_run(run.result.run_id)).state == "verified"
    records = [json.loads(line) for line in run.audit_text.splitlines()]
    shots = [record["screenshot"] for record in records if record.get("screenshot")]
    assert shots and any((record.get("result") or {}).get("screenshot") for record in records)
    shot = run.result.run_dir / shots[0]
    shot.write_bytes(shot.read_bytes() + b"retouched")
    check = check_run_audit(run.store.get_run(run.result.run_id))
    assert check.state == "not_verified"
    assert any(f"the evidence file {shots[0]} was changed after it was recorded" in p for p in check.problems)


def test_the_run_page_says_unsigned_for_a_run_written_without_a_key(tmp_path, run_flow_file, monkeypatch):
    (tmp_path / "plain-file").write_text("not a folder")
    monkeypatch.setenv("BASTIDOR_AUDIT_KEY_FILE", str(tmp_path / "plain-file" / "audit-signing.key"))
    (tmp_path / "tiny.yaml").write_text("name: Tiny\nsteps:\n  - log: one\n")
    run = run_flow_file(tmp_path / "tiny.yaml")
    check = check_run_audit(run.store.get_run(run.result.run_id))
    assert check.state == "unsigned" and "cannot create the audit signing key" in check.summary
