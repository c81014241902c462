"""The audit log: one masked, hash-chained JSON record per line, and it fails closed."""

from __future__ import annotations

import json
import re
import threading
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import structlog

from bastidor.audit import (
    ZERO_HASH,
    AuditLog,
    AuditWriteError,
    SecretMasker,
    canonical_json,
    record_hash,
    verify_audit_log,
)
from bastidor.audit.processors import (
    AddSequence,
    BindRunContext,
    ChainHash,
    MaskSecrets,
    add_utc_timestamp,
    normalize_record,
    render_json_line,
)

FLOW_SHA = "f" * 64
CANARY = "canary-Sup3rS3cret!"


def open_log(path: Path, masker: SecretMasker | None = None, run_id: str = "run-1") -> AuditLog:
    return AuditLog.open(path, run_id=run_id, flow="orders", flow_sha256=FLOW_SHA, masker=masker)


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_three_records_form_a_verifiable_chain_sealed_after_the_first_and_at_close(tmp_path):
    path = tmp_path / "audit.jsonl"
    with open_log(path) as log:
        log.event("run.started", inputs={"file": "orders.xlsx"})
        log.event("step", action="fill", outcome="passed")
        log.event("run.finished", status="succeeded")
    records = read_records(path)
    assert [r["event"] for r in records] == ["run.started", "audit.checkpoint", "step", "run.finished",
                                             "audit.checkpoint"]
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["prev_hash"] == ZERO_HASH
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in zip(records, records[1:]))
    assert all(record_hash(r) == r["hash"] for r in records)
    assert verify_audit_log(path).ok


def test_record_carries_run_context_time_and_fields_in_a_fixed_order(tmp_path):
    with open_log(tmp_path / "audit.jsonl") as log:
        record = log.event("step", step_line="flows/orders.yaml:12", outcome="passed")
    assert list(record)[:6] == ["run_id", "seq", "ts", "event", "flow", "flow_sha256"]
    assert list(record)[-2:] == ["prev_hash", "hash"]
    assert (record["run_id"], record["flow"], record["flow_sha256"]) == ("run-1", "orders", FLOW_SHA)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", record["ts"])
    assert record["step_line"] == "flows/orders.yaml:12"


def test_event_returns_exactly_the_record_written_to_the_file(tmp_path):
    path = tmp_path / "audit.jsonl"
    with open_log(path) as log:
        returned = log.event("step", amount=Decimal("12.50"), when=date(2024, 5, 1), tags={"b", "a"})
        checkpoint = read_records(path)[1]  # the first record is sealed at once
        assert (log.count, log.last_hash) == (2, checkpoint["hash"]) and checkpoint["prev_hash"] == returned["hash"]
    assert read_records(path)[0] == returned
    assert (returned["amount"], returned["when"], returned["tags"]) == ("12.50", "2024-05-01", ["a", "b"])


def test_each_record_is_flushed_to_the_file_before_event_returns(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = open_log(path)
    log.event("run.started")
    assert read_records(path)[0]["event"] == "run.started"
    log.close()


def test_planted_secret_never_reaches_the_file_bytes(tmp_path):
    path = tmp_path / "audit.jsonl"
    masker = SecretMasker(names=["ERP_PASSWORD"], values=[CANARY])
    with open_log(path, masker) as log:
        log.event("step", params={"value": CANARY, "password": CANARY}, error=f"login failed: {CANARY}")
        log.event("step", ERP_PASSWORD=CANARY, nested=[{"deep": (CANARY,)}], note=f"x{CANARY}y")
        log.event("run.finished")
    data = path.read_bytes()
    assert CANARY.encode() not in data
    assert b"***" in data
    assert verify_audit_log(path).ok


def test_fields_the_log_owns_cannot_be_overridden_by_an_event(tmp_path):
    with open_log(tmp_path / "audit.jsonl") as log:
        with pytest.raises(ValueError, match="seq"):
            log.event("step", seq=99)
        assert log.event("step")["seq"] == 1


def test_log_on_a_full_disk_fails_closed_with_a_clear_error():
    log = open_log(Path("/dev/full"))
    with pytest.raises(AuditWriteError, match=r"/dev/full.*No space left on device"):
        log.event("run.started")
    with pytest.raises(AuditWriteError, match="unusable"):
        log.event("step")
    log.close()


def test_log_in_a_location_that_cannot_be_written_fails_at_open(tmp_path):
    not_a_folder = tmp_path / "plain-file"
    not_a_folder.write_text("x")
    with pytest.raises(AuditWriteError, match=r"Cannot open the audit log .*plain-file"):
        open_log(not_a_folder / "audit.jsonl")


def test_closed_log_refuses_further_events(tmp_path):
    log = open_log(tmp_path / "audit.jsonl")
    log.close()
    with pytest.raises(AuditWriteError, match="closed"):
        log.event("step")


def test_concurrent_events_from_two_threads_keep_one_unbroken_chain(tmp_path):
    path = tmp_path / "audit.jsonl"
    with open_log(path) as log:
        def write(worker: str) -> None:
            for index in range(150):
                log.event("step", worker=worker, index=index)

        threads = [threading.Thread(target=write, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        log.event("run.finished")
    records = read_records(path)
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert len([r for r in records if r["event"] != "audit.checkpoint"]) == 301
    assert verify_audit_log(path).ok


def test_reopening_a_log_of_the_same_run_continues_its_chain(tmp_path):
    path = tmp_path / "audit.jsonl"
    with open_log(path) as log:
        log.event("run.started")
        last_hash = log.last_hash
    with open_log(path) as log:
        record = log.event("run.finished")
    assert (record["seq"], record["prev_hash"]) == (3, last_hash)  # after run.started and its checkpoint
    assert verify_audit_log(path).ok


def test_reopening_after_a_torn_last_line_keeps_it_as_evidence_and_continues(tmp_path):
    path = tmp_path / "audit.jsonl"
    with open_log(path) as log:
        log.event("run.started")
    with path.open("ab") as stream:
        stream.write(b'{"run_id":"run-1","seq":3,"ev')
    with open_log(path) as log:
        assert log.event("run.finished")["seq"] == 3
    result = verify_audit_log(path)
    assert [(p.line, p.severity) for p in result.problems] == [(3, "warning")]
    assert "write that was cut short" in result.problems[0].message and result.ok


def test_reopening_another_runs_log_is_refused(tmp_path):
    path = tmp_path / "audit.jsonl"
    with open_log(path, run_id="run-1") as log:
        log.event("run.started")
    with pytest.raises(AuditWriteError, match="belongs to run run-1"):
        open_log(path, run_id="run-2")


def test_canonical_json_is_sorted_compact_and_keeps_unicode():
    value = {"b": Decimal("1.10"), "a": "ação", "t": datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)}
    assert canonical_json(value) == '{"a":"ação","b":"1.10","t":"2024-01-02T03:04:05+00:00"}'


def test_record_hash_ignores_the_hash_key_itself():
    record = {"seq": 1, "prev_hash": ZERO_HASH}
    assert record_hash(record) == record_hash(record | {"hash": "anything"})


def test_processors_each_do_one_job_on_their_own():
    event_dict = {"event": "step", "password": "pw", "amount": Decimal("2.5")}
    event_dict = BindRunContext("r", "orders", FLOW_SHA)(None, "audit", event_dict)
    event_dict = AddSequence(last_seq=4)(None, "audit", event_dict)
    event_dict = add_utc_timestamp(None, "audit", event_dict)
    event_dict = normalize_record(None, "audit", event_dict)
    assert list(event_dict)[:6] == ["run_id", "seq", "ts", "event", "flow", "flow_sha256"]
    assert (event_dict["seq"], event_dict["amount"]) == (5, "2.5")
    event_dict = MaskSecrets(SecretMasker())(None, "audit", event_dict)
    assert event_dict["password"] == "***"
    chain = ChainHash()
    event_dict = chain(None, "audit", event_dict)
    assert event_dict["prev_hash"] == ZERO_HASH and chain.last_hash == event_dict["hash"]
    assert json.loads(render_json_line(None, "audit", event_dict)) == event_dict


def test_global_structlog_configuration_does_not_change_audit_records(tmp_path):
    saved = structlog.get_config()

    def drop_everything(logger, method_name, event_dict):
        raise structlog.DropEvent

    structlog.configure(processors=[drop_everything], wrapper_class=structlog.stdlib.BoundLogger)
    try:
        path = tmp_path / "audit.jsonl"
        with open_log(path) as log:
            log.event("run.finished")
    finally:
        structlog.configure(**saved)
    assert [r["event"] for r in read_records(path)] == ["run.finished", "audit.checkpoint"]
