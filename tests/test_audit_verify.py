"""The verifier names the exact record that was edited, removed, reordered, damaged or mixed in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bastidor.audit import AuditLog, format_result, record_hash, verify_audit_log


@pytest.fixture
def audit_lines(tmp_path) -> list[str]:
    """The lines of a finished 10-record log: run.started, its checkpoint, six steps, run.finished, and the
    checkpoint that closes the log."""
    return write_run_log(tmp_path / "original.jsonl", run_id="run-1")


def write_run_log(path: Path, run_id: str) -> list[str]:
    with AuditLog.open(path, run_id=run_id, flow="orders", flow_sha256="f" * 64) as log:
        log.event("run.started")
        for index in range(6):
            log.event("step", index=index, outcome="passed")
        log.event("run.finished", status="succeeded")
    return path.read_text(encoding="utf-8").splitlines()


def verify_lines(tmp_path: Path, lines: list[str], **options):
    path = tmp_path / "audit.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return verify_audit_log(path, **options)


def test_untouched_log_verifies(tmp_path, audit_lines):
    result = verify_lines(tmp_path, audit_lines)
    assert result.ok and result.first_problem is None
    assert (result.records, result.run_id) == (10, "run-1")
    assert result.last_hash == json.loads(audit_lines[-1])["hash"]
    assert format_result(result).startswith("OK:")


def test_edited_record_is_named_by_verify(tmp_path, audit_lines):
    record = json.loads(audit_lines[6])
    record["outcome"] = "failed"
    audit_lines[6] = json.dumps(record)
    result = verify_lines(tmp_path, audit_lines)
    assert not result.ok
    assert [(p.line, p.seq) for p in result.problems] == [(7, 7)]
    assert result.first_problem.message == "line 7 (seq 7): record was edited: its hash does not match its content"


def test_edited_and_rehashed_record_is_caught_at_the_link_after_it(tmp_path, audit_lines):
    record = json.loads(audit_lines[3])
    record["outcome"] = "failed"
    record["hash"] = record_hash(record)
    audit_lines[3] = json.dumps(record)
    problem = verify_lines(tmp_path, audit_lines).first_problem
    assert (problem.line, problem.seq) == (5, 5)
    assert "prev_hash does not match the record before it (line 4 (seq 4))" in problem.message


def test_removed_middle_record_is_named_by_verify(tmp_path, audit_lines):
    del audit_lines[6]
    result = verify_lines(tmp_path, audit_lines)
    assert [p.message for p in result.problems] == ["line 7: seq 8 follows seq 6: record seq 7 was removed"]


def test_removed_first_records_are_named_by_verify(tmp_path, audit_lines):
    problem = verify_lines(tmp_path, audit_lines[2:]).first_problem
    assert problem.message == "line 1: the log starts at seq 3: records seq 1-2 were removed from the start"


def test_swapped_records_are_named_as_reordered(tmp_path, audit_lines):
    audit_lines[4], audit_lines[5] = audit_lines[5], audit_lines[4]
    result = verify_lines(tmp_path, audit_lines)
    assert [(p.line, p.seq) for p in result.problems] == [(5, 6), (6, 5)]
    assert result.first_problem.message == (
        "line 5: seq 6 follows seq 4: record seq 5 was moved (it is at line 6): records were reordered"
    )
    assert "out of order" in result.problems[1].message


def test_duplicated_record_is_named_by_verify(tmp_path, audit_lines):
    audit_lines.insert(3, audit_lines[2])
    problem = verify_lines(tmp_path, audit_lines).first_problem
    assert problem.message == "line 4: seq 3 appears again (first at line 3): a record was duplicated"


def test_truncated_end_is_caught_by_the_anchor_outside_the_home(tmp_path, audit_lines):
    result = verify_lines(tmp_path, audit_lines[:-2])
    assert not result.ok and result.verdict == "not_verified"
    assert result.first_problem.message == (
        "records after line 8 were removed: the anchor outside the home shows the log reached seq 9 (sealed "
        f"{json.loads(audit_lines[-1])['signed_at']})")
    warning = result.problems[-1]
    assert (warning.line, warning.seq, warning.severity) == (8, 8, "warning")
    assert warning.message.startswith("log ends at seq 8 without run.finished: the process that wrote it stopped")


def test_truncated_end_without_its_anchor_is_incomplete_not_verified(tmp_path, audit_lines):
    result = verify_lines(tmp_path, audit_lines[:-2], anchors_dir=tmp_path / "no-anchors")
    assert result.verdict == "incomplete" and (result.proven_seq, result.unsigned_after) == (1, 6)


def test_garbage_line_is_named_and_the_record_it_replaced_is_reported_lost(tmp_path, audit_lines):
    audit_lines[3] = "this is not {json"
    result = verify_lines(tmp_path, audit_lines)
    assert result.first_problem.line == 4
    assert result.first_problem.message.startswith("line 4 is not a JSON record")
    assert result.problems[1].message == "line 5: seq 5 follows seq 3: record seq 4 was lost (see the damaged line 4)"


def test_record_from_another_run_is_named_as_mixed_in(tmp_path, audit_lines):
    foreign = write_run_log(tmp_path / "other.jsonl", run_id="run-2")
    audit_lines.insert(3, foreign[3])
    result = verify_lines(tmp_path, audit_lines)
    assert [p.message for p in result.problems] == [
        "line 4 (seq 4): record belongs to run run-2, not run run-1: a record from another run was mixed in"
    ]


def test_log_shorter_than_the_run_store_remembers_is_caught(tmp_path, audit_lines):
    expected = json.loads(audit_lines.pop())["hash"]
    result = verify_lines(tmp_path, audit_lines, expected_last_hash=expected)
    assert (result.first_problem.line, result.first_problem.seq) == (9, 9)
    assert "but the run store recorded" in result.first_problem.message


def test_matching_remembered_last_hash_verifies(tmp_path, audit_lines):
    expected = json.loads(audit_lines[-1])["hash"]
    assert verify_lines(tmp_path, audit_lines, expected_last_hash=expected).ok


def test_missing_and_empty_logs_are_reported_not_raised(tmp_path):
    missing = verify_audit_log(tmp_path / "nope.jsonl")
    assert not missing.ok and "cannot read" in missing.first_problem.message
    (tmp_path / "empty.jsonl").write_bytes(b"")
    empty = verify_audit_log(tmp_path / "empty.jsonl")
    assert empty.verdict == "incomplete" and "the log is empty" in empty.first_problem.message


def test_format_result_names_the_first_break_for_the_cli(tmp_path, audit_lines):
    del audit_lines[6]
    text = format_result(verify_lines(tmp_path, audit_lines))
    assert text.startswith("NOT VERIFIED:")
    assert "error: line 7: seq 8 follows seq 6: record seq 7 was removed" in text
    assert "The first break is at line 7" in text
