"""The executor on flows without a browser: items, business exceptions, retries, not-run steps, sub-flows."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from bastidor.audit import verify_audit_log

PRICES_CSV = "sku,qty,price\nA-1,2,10.10\nB-2,1,0.10\nC-3,0,5.00\nD-4,3,0.20\n"

INVOICE_FLOW = """
name: Price lines
version: 1
inputs:
  lines_file: {type: path, default: lines.csv}
  vat_rate: {type: decimal, default: "0.23"}
steps:
  - read_csv: {path: "{{ lines_file }}", into: lines}
  - for_each_item: "{{ lines }}"
    as: line
    item_ref: "{{ line.sku }}"
    steps:
      - if: "{{ int(line.qty) < 1 }}"
        then:
          - fail_item: "{{ 'quantity must be at least 1 for ' + line.sku }}"
      - set:
          net: "{{ int(line.qty) * decimal(line.price) }}"
          gross: "{{ round(net * (1 + vat_rate), 2, 'half_up') }}"
      - append_to:
          list: results
          value: {sku: "{{ line.sku }}", net: "{{ net }}", gross: "{{ gross }}"}
  - write_rows: {path: priced.xlsx, rows: "{{ results }}", sheet: Lines}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_calculation_flow_prices_each_line_in_exact_decimals(tmp_path, run_flow_file):
    write(tmp_path, "lines.csv", PRICES_CSV)
    run = run_flow_file(write(tmp_path, "price.yaml", INVOICE_FLOW))
    assert run.result.status == "failed"  # one line has a business exception
    book = load_workbook(run.result.run_dir / "priced.xlsx")
    rows = [[c.value for c in row] for row in book["Lines"].iter_rows()]
    assert rows[0] == ["sku", "net", "gross"]
    assert [r[0] for r in rows[1:]] == ["A-1", "B-2", "D-4"]
    assert str(rows[1][2]) == "24.85"  # 20.20 * 1.23 = 24.846 -> 24.85 half-up
    assert Decimal(str(rows[3][1])) == Decimal("0.60")


def test_business_exception_fails_only_its_item_and_the_loop_goes_on(tmp_path, run_flow_file):
    write(tmp_path, "lines.csv", PRICES_CSV)
    run = run_flow_file(write(tmp_path, "price.yaml", INVOICE_FLOW))
    items = run.items()
    assert {ref: item.status for ref, item in items.items()} == {
        "A-1": "successful", "B-2": "successful", "C-3": "failed", "D-4": "successful"}
    assert items["C-3"].reason == "quantity must be at least 1 for C-3"
    assert run.result.items_failed == 1 and run.result.items_succeeded == 3


def test_steps_after_a_failed_step_are_recorded_as_not_run(tmp_path, run_flow_file):
    write(tmp_path, "lines.csv", PRICES_CSV)
    run = run_flow_file(write(tmp_path, "price.yaml", INVOICE_FLOW))
    c3 = [s for s in run.steps() if s.item_ref == "C-3"]
    statuses = [(s.path, s.status) for s in c3]
    assert ("2[3].1.then.1", "business_exception") in statuses
    assert ("2[3].2", "not_run") in statuses and ("2[3].3", "not_run") in statuses


def test_on_error_stop_ends_the_run_at_the_first_failed_item(tmp_path, run_flow_file):
    write(tmp_path, "lines.csv", PRICES_CSV)
    flow = INVOICE_FLOW.replace('item_ref: "{{ line.sku }}"', 'item_ref: "{{ line.sku }}"\n    on_error: stop')
    run = run_flow_file(write(tmp_path, "price.yaml", flow))
    assert list(run.items()) == ["A-1", "B-2", "C-3"]
    assert run.result.status == "failed"
    last = run.steps()[-1]
    assert (last.path, last.status) == ("3", "not_run")


def test_retry_policy_retries_application_errors_and_records_every_attempt(tmp_path, run_flow_file):
    flow = write(tmp_path, "retry.yaml", """
name: Retry a missing file
steps:
  - read_csv: {path: missing.csv, into: rows}
    retry: {attempts: 3, wait: 1s}
""")
    run = run_flow_file(flow)
    attempts = [(s.attempt, s.status) for s in run.steps()]
    assert attempts == [(1, "failed"), (2, "failed"), (3, "failed")]
    assert run.result.status == "failed" and "missing.csv" in run.result.error


def test_business_exceptions_are_never_retried(tmp_path, run_flow_file):
    flow = write(tmp_path, "no_retry.yaml", """
name: No retry for business rules
steps:
  - for_each_item: "{{ [1] }}"
    item_ref: "{{ row }}"
    steps:
      - fail_item: Customer is blocked
        retry: {attempts: 5}
""")
    run = run_flow_file(flow)
    attempts = [s.attempt for s in run.steps() if s.action == "fail_item"]
    assert attempts == [1]
    assert run.items()["1"].reason == "Customer is blocked"


def test_duplicate_item_references_are_processed_once(tmp_path, run_flow_file):
    write(tmp_path, "dupes.csv", "ref,amount\nX,1\nY,2\nX,3\n")
    flow = write(tmp_path, "dupes.yaml", """
name: Duplicates
steps:
  - read_csv: {path: dupes.csv, into: rows}
  - for_each_item: "{{ rows }}"
    item_ref: "{{ row.ref }}"
    steps:
      - append_to: {list: seen, value: "{{ row.amount }}"}
  - write_rows: {path: seen.csv, rows: "{{ [{'amounts': len(seen)}] }}"}
""")
    run = run_flow_file(flow)
    assert run.result.items_total == 3 and run.result.items_failed == 1
    assert "duplicate reference 'X'" in dict(run.result.failures)["X"]
    with open(run.result.run_dir / "seen.csv", newline="") as handle:
        assert list(csv.DictReader(handle)) == [{"amounts": "2"}]


def test_sub_flow_gets_inputs_and_hands_back_outputs(tmp_path, run_flow_file):
    write(tmp_path, "parts/vat.yaml", "") if False else (tmp_path / "parts").mkdir()
    write(tmp_path / "parts", "vat.yaml", """
name: Add VAT
inputs:
  net: {type: decimal}
  rate: {type: decimal, default: "0.2"}
outputs: [gross]
steps:
  - set: {gross: "{{ round(net * (1 + rate), 2, 'half_even') }}"}
""")
    flow = write(tmp_path, "main.yaml", """
name: Caller
steps:
  - call: parts/vat.yaml
    inputs: {net: "{{ 10.125 }}"}
  - write_rows: {path: out.csv, rows: "{{ [{'gross': gross}] }}"}
""")
    run = run_flow_file(flow)
    assert run.result.status == "succeeded"
    assert (run.result.run_dir / "out.csv").read_text().splitlines()[1] == "12.15"
    assert any(s.path == "1>.1" and s.line.endswith("vat.yaml:8") for s in run.steps())


def test_audit_log_of_a_run_verifies_and_holds_every_step(tmp_path, run_flow_file):
    write(tmp_path, "lines.csv", PRICES_CSV)
    run = run_flow_file(write(tmp_path, "price.yaml", INVOICE_FLOW))
    result = verify_audit_log(run.result.audit_path)
    assert result.ok, result.problems
    steps_in_log = run.audit_text.count('"event":"step"')
    assert steps_in_log == len(run.steps())


def test_unwritable_audit_log_stops_the_run_as_crashed(tmp_path, run_flow_file):
    run_id = "20260101-000000-dead00"
    run_dir = tmp_path / "home" / "runs" / run_id
    run_dir.mkdir(parents=True)
    (run_dir / "audit.jsonl").symlink_to("/dev/full")
    write(tmp_path, "lines.csv", PRICES_CSV)
    run = run_flow_file(write(tmp_path, "price.yaml", INVOICE_FLOW), run_id=run_id)
    assert run.result.status == "crashed"
    assert run.result.items_total == 0, "no item may be processed without an audit trail"
    assert "audit" in run.result.error.lower()
