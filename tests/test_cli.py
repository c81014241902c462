"""The command line as analysts and scripts use it: validate, run, runs, report, audit verify, schema, demo."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bastidor.cli.main import main

REPO = Path(__file__).resolve().parents[1]

CALC_FLOW = """
name: Totals
inputs:
  rate: {type: decimal, default: "0.5"}
steps:
  - set: {rows: "{{ [{'n': 1}, {'n': 2}, {'n': 3}] }}"}
  - for_each_item: "{{ rows }}"
    item_ref: "{{ 'N' + text(row.n) }}"
    steps:
      - if: "{{ row.n == 2 }}"
        then:
          - fail_item: two is not allowed
      - set: {total: "{{ row.n * rate }}"}
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BASTIDOR_HOME", str(tmp_path / "home"))
    (tmp_path / "totals.yaml").write_text(CALC_FLOW)
    return tmp_path / "home"


def cli(capsys, *args) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_validate_passes_on_the_sample_flows(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    code, output = cli(capsys, "validate", "flows")
    assert code == 0 and "flow file(s) valid" in output


def test_run_prints_a_summary_with_failed_items_and_where_the_log_is(home, capsys):
    code, output = cli(capsys, "run", "totals.yaml")
    assert code == 1
    assert "items: 3 total, 2 succeeded, 1 failed" in output
    assert "N2: two is not allowed" in output
    assert "audit log:" in output and "report:" in output


def test_run_refuses_an_invalid_flow_without_a_traceback(home, capsys, tmp_path):
    (tmp_path / "bad.yaml").write_text("name: Bad\nsteps:\n  - clik: {text: Save}\n")
    code, output = cli(capsys, "run", "bad.yaml")
    assert code == 2
    assert "bad.yaml:3:5: unknown action 'clik', did you mean 'click'?" in output
    assert "the flow was not run" in output and "Traceback" not in output


def test_run_rejects_unknown_and_mistyped_inputs(home, capsys):
    code, output = cli(capsys, "run", "totals.yaml", "--input", "rte=1")
    assert code == 2 and "unknown input 'rte', did you mean 'rate'?" in output
    code, output = cli(capsys, "run", "totals.yaml", "--input", "rate=abc")
    assert code == 2 and "input 'rate': 'abc' is not a valid decimal" in output


def test_run_names_a_missing_secret_and_where_to_put_it(home, capsys, tmp_path):
    (tmp_path / "secret.yaml").write_text("name: S\nsecrets: [ERP_TOKEN]\nsteps:\n  - log: hi\n")
    code, output = cli(capsys, "run", "secret.yaml")
    assert code == 2
    assert "ERP_TOKEN not found" in output and "BASTIDOR_SECRET_<NAME>" in output


def test_runs_list_json_is_for_scripts(home, capsys):
    cli(capsys, "run", "totals.yaml")
    code, output = cli(capsys, "runs", "list", "--json")
    runs = json.loads(output)
    assert code == 0 and runs[0]["flow_name"] == "Totals" and runs[0]["items_failed"] == 1


def test_runs_show_prints_the_step_tree_and_the_audit_log_path(home, capsys):
    cli(capsys, "run", "totals.yaml")
    code, output = cli(capsys, "runs", "show", "last")
    assert code == 0
    assert "audit log:" in output and "audit.jsonl" in output
    assert "2[2] item N2  business exception  two is not allowed" in output
    assert "2[2].1.then.1 fail_item two is not allowed  business exception" in output
    code, output = cli(capsys, "runs", "show", "last", "--json")
    assert {step["status"] for step in json.loads(output)["steps"]} >= {"passed", "not_run"}


def test_report_writes_a_self_contained_html_file(home, capsys, tmp_path):
    cli(capsys, "run", "totals.yaml")
    code, output = cli(capsys, "report", "last", "--output", str(tmp_path / "r.html"))
    html = (tmp_path / "r.html").read_text()
    assert code == 0 and "two is not allowed" in html and "hash chain intact" in html
    assert "<script src" not in html and "<link" not in html


def test_audit_verify_names_the_record_that_was_edited(home, capsys, tmp_path):
    cli(capsys, "run", "totals.yaml")
    log = next(home.rglob("audit.jsonl"))
    code, output = cli(capsys, "audit", "verify", "last")
    assert code == 0 and "hash chain intact" in output
    lines = log.read_text().splitlines()
    lines[4] = lines[4].replace('"outcome":"passed"', '"outcome":"failed"')
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join(lines) + "\n")
    code, output = cli(capsys, "audit", "verify", str(edited))
    assert code == 1 and "line 5 (seq 5): record was edited" in output


def test_schema_is_valid_json_schema_and_accepts_the_sample_flows(capsys):
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    code, output = cli(capsys, "schema")
    schema = json.loads(output)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in (REPO / "flows").rglob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        errors = [e.message for e in validator.iter_errors(json.loads(json.dumps(data, default=str)))]
        assert not errors, (path, errors[:3])
    assert "click" in json.dumps(schema["$defs"]["Step"])


def test_demo_command_enters_the_orders_into_the_portal(tmp_path):
    home = tmp_path / "home"
    done = subprocess.run([sys.executable, str(REPO / "runner.py"), "--home", str(home), "demo"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "items: 12 total, 11 succeeded, 1 failed" in done.stdout
    assert "ORD-0007: Out of stock: Doohickey (available: 0)" in done.stdout
    report = next(home.rglob("report.html"))
    assert report.is_file()
    with sqlite3.connect(home / "demo-portal.db") as db:
        assert db.execute("select count(*) from orders").fetchone()[0] == 11
    verify = subprocess.run([sys.executable, str(REPO / "runner.py"), "--home", str(home), "audit", "verify",
                             "last"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout


def test_every_command_is_listed_in_the_help_and_runs_its_own_module_only():
    from bastidor.cli.main import COMMAND_MODULES, build_parser, command_in

    listed = build_parser().format_help()
    assert all(name in listed for name in COMMAND_MODULES)
    assert command_in(["--home", "x", "trigger", "--help"]) == "trigger"
    assert command_in(["--help"]) is None and command_in([]) is None
    for name in COMMAND_MODULES:
        parser = build_parser(name)
        assert name in parser.format_help(), f"{COMMAND_MODULES[name]} registers no '{name}' command"
