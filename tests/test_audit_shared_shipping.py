"""Shipping audit logs to the shared database: once, whole, never over a differing copy, never failing a run.

Runs are real (a small flow, run by the executor with a home folder and the shared database set); the
database is a throwaway PostgreSQL database, reached directly or through a proxy this test cuts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bastidor.audit import AuditLog, verify_audit_log
from bastidor.audit.records_table import whole_lines
from bastidor.audit.shared_copy import verify_run_audit
from bastidor.audit.shipping import PENDING_FOLDER, ship_pending, ship_run
from bastidor.audit.tables import audit_records
from bastidor.cli.main import main
from bastidor.database.engines import postgres_engine
from tcp_proxy import TcpProxy

TINY_FLOW = "name: Tiny\nsteps:\n  - log: one\n  - set: {total: '2 + 3'}\n  - log: 'total {{ total }}'\n"


@pytest.fixture
def tiny_flow(tmp_path) -> Path:
    """A flow of three steps that needs no browser."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_FLOW)
    return path


def shipped_count(url: str, run_id: str) -> int:
    """How many lines of the run's log the shared database holds."""
    with postgres_engine(url).connect() as connection:
        return connection.execute(select(func.count()).select_from(audit_records)
                                  .where(audit_records.c.log_id == run_id)).scalar()


def test_a_finished_run_is_in_the_shared_database_and_verifies_from_there(pg_url, tiny_flow, run_flow_file,
                                                                         monkeypatch):
    monkeypatch.setenv("BASTIDOR_DATABASE_URL", pg_url)
    run = run_flow_file(tiny_flow)
    assert run.result.status == "succeeded"
    lines = whole_lines(Path(run.result.audit_path).read_bytes())
    assert shipped_count(pg_url, run.result.run_id) == len(lines)
    audit = verify_run_audit(run.result.run_id, None, pg_url, run.store.get_run(run.result.run_id).audit_last_hash)
    assert audit.from_shared and audit.result.ok and audit.result.records == len(lines)


def test_shipping_again_adds_nothing(pg_url, tiny_flow, run_flow_file, monkeypatch):
    monkeypatch.setenv("BASTIDOR_DATABASE_URL", pg_url)
    run = run_flow_file(tiny_flow)
    before = shipped_count(pg_url, run.result.run_id)
    again = ship_run(pg_url, run.result.run_dir)
    assert (again.lines_added, again.artifacts_added, again.conflicts) == (0, 0, [])
    assert ship_pending(run.result.run_dir.parents[1], pg_url) == []
    assert shipped_count(pg_url, run.result.run_id) == before


def test_a_connection_cut_while_shipping_leaves_the_run_succeeded_and_catch_up_ships_it(
        pg_url, tiny_flow, run_flow_file, monkeypatch, capsys):
    with TcpProxy.in_front_of(pg_url) as proxy:
        proxy.drop_every(b"INSERT INTO audit_records")
        monkeypatch.setenv("BASTIDOR_DATABASE_URL", proxy.url_for(pg_url))
        run = run_flow_file(tiny_flow)
    run_id, home = run.result.run_id, run.result.run_dir.parents[1]
    assert run.result.status == "succeeded" and run.store.get_run(run_id).status == "succeeded"
    assert proxy.traps_sprung >= 1 and shipped_count(pg_url, run_id) == 0
    assert (home / PENDING_FOLDER / run_id).exists()
    assert f"warning: run {run_id}: its audit log and evidence stay in" in capsys.readouterr().err
    assert main(["audit", "ship", "--home", str(home), "--database", pg_url]) == 0
    assert f"run {run_id}: " in capsys.readouterr().out
    assert not (home / PENDING_FOLDER / run_id).exists()
    assert shipped_count(pg_url, run_id) == len(whole_lines(Path(run.result.audit_path).read_bytes()))
    assert verify_run_audit(run_id, None, pg_url).result.ok


def test_a_run_killed_before_it_shipped_is_found_and_shipped_by_catch_up(pg_url, tmp_path):
    home = tmp_path / "home"
    with AuditLog.open(home / "runs" / "run-k" / "audit.jsonl", run_id="run-k", flow="orders",
                       flow_sha256="f" * 64) as log:
        log.event("run.started")
    [report] = ship_pending(home, pg_url)
    assert report.run_id == "run-k" and report.lines_added == shipped_count(pg_url, "run-k") > 0


def test_a_line_edited_locally_after_shipping_is_reported_and_nothing_is_shipped_over_it(pg_url, tmp_path,
                                                                                          capsys):
    home, folder = tmp_path / "home", tmp_path / "home" / "runs" / "run-e"
    with AuditLog.open(folder / "audit.jsonl", run_id="run-e", flow="orders", flow_sha256="f" * 64) as log:
        log.event("run.started")
        log.event("step", action="fill", value="12.50")
    ship_run(pg_url, folder)
    shipped = shipped_count(pg_url, "run-e")
    path = folder / "audit.jsonl"
    path.write_bytes(path.read_bytes().replace(b"12.50", b"99.99") + b'{"appended": true}\n')
    report = ship_run(pg_url, folder)
    assert report.lines_added == 0 and shipped_count(pg_url, "run-e") == shipped
    assert any("differs from the copy in the shared database" in conflict for conflict in report.conflicts)
    assert main(["audit", "ship", "--home", str(home), "--database", pg_url]) == 1
    assert "error: line 3 of the audit log of run run-e differs" in capsys.readouterr().out


def test_the_shared_copy_of_a_log_with_a_torn_write_gets_the_files_verdict(pg_url, tmp_path):
    folder = tmp_path / "home" / "runs" / "run-t"
    with AuditLog.open(folder / "audit.jsonl", run_id="run-t", flow="orders", flow_sha256="f" * 64) as log:
        log.event("run.started")
    with open(folder / "audit.jsonl", "ab") as stream:
        stream.write('{"run_id": "run-t", "seq": 4, "note": "caf\u00e9'.encode()[:-1])  # cut inside a character
    with AuditLog.open(folder / "audit.jsonl", run_id="run-t", flow="orders", flow_sha256="f" * 64) as log:
        log.event("run.finished", status="succeeded")
    ship_run(pg_url, folder)
    from_file = verify_audit_log(folder / "audit.jsonl", expected_run_id="run-t")
    from_table = verify_run_audit("run-t", None, pg_url).result
    assert from_table.verdict == from_file.verdict and from_file.records == from_table.records
    assert [p.message for p in from_table.problems] == [p.message for p in from_file.problems]
    assert any("cut short" in problem.message for problem in from_table.problems)
