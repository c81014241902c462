"""Exports of the Items and Exceptions lists: Excel workbooks and CSV files with the list's filters, real
dates, a frozen header, formulas kept as text, and never a secret; each download is audited."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime, timezone
from decimal import Decimal

from console_items_support import add_item, add_run, console_for, day, write_price_flow
from console_support import make_console
from openpyxl import load_workbook

from bastidor.console.data.exports import export_file, to_csv, to_xlsx


def workbook_rows(content: bytes) -> tuple[object, list[list[object]]]:
    """The first sheet of an .xlsx and its rows as values."""
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    return sheet, [[cell.value for cell in row] for row in sheet.iter_rows()]


def csv_rows(content: bytes) -> list[list[str]]:
    """The rows of a downloaded CSV (UTF-8 with a byte-order mark)."""
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_xlsx_has_a_bold_frozen_header_real_dates_and_formulas_kept_as_text():
    when = datetime(2026, 3, 1, 14, 30, 5, tzinfo=timezone.utc)
    content = to_xlsx(["Reference", "Started (UTC)", "Due", "Amount", "Note"],
                      [["O-1", when, date(2026, 3, 5), Decimal("12.50"), '=HYPERLINK("http://evil","x")'],
                       ["O-2", None, None, 3, "plain"]], sheet="Items")
    sheet, rows = workbook_rows(content)
    assert sheet.title == "Items" and sheet.freeze_panes == "A2" and sheet["A1"].font.b
    assert rows[0] == ["Reference", "Started (UTC)", "Due", "Amount", "Note"]
    assert rows[1][1] == datetime(2026, 3, 1, 14, 30, 5) and sheet["B2"].is_date
    assert sheet["C2"].is_date and rows[1][3] == 12.5
    assert sheet["E2"].data_type == "s" and rows[1][4] == '=HYPERLINK("http://evil","x")'
    assert rows[2] == ["O-2", None, None, 3, "plain"]


def test_csv_has_a_header_iso_dates_and_neutralises_formulas():
    text = to_csv(["Reference", "Started (UTC)", "Reason"],
                  [["Ação-1", datetime(2026, 3, 1, 14, 30, tzinfo=timezone.utc), "=cmd|' /C calc'!A0"],
                   ["O-2", None, "-5"]])
    assert list(csv.reader(io.StringIO(text))) == [
        ["Reference", "Started (UTC)", "Reason"],
        ["Ação-1", "2026-03-01T14:30:00+00:00", "'=cmd|' /C calc'!A0"],
        ["O-2", "", "-5"]]
    assert export_file("csv", ["A"], [[1], [2]]) == ("A\r\n1\r\n2\r\n", 2)


def seeded_console(tmp_path):
    """A console whose store holds three items of two flows; O-2 and I-1 are business exceptions."""
    console = make_console(tmp_path)
    store = console.context.store
    add_run(store, "r1", "Orders", day(2026, 3, 1))
    add_run(store, "r2", "Invoices", day(2026, 3, 2))
    add_item(store, "r1", "O-1", day(2026, 3, 1, 9))
    add_item(store, "r1", "O-2", day(2026, 3, 1, 10), "failed", "business", "Out of stock: Doohickey")
    add_item(store, "r2", "I-1", day(2026, 3, 2, 8), "failed", "business", "Customer blocked")
    return console


def test_items_excel_export_holds_the_filtered_rows_of_every_page(tmp_path):
    console = seeded_console(tmp_path)
    response = console.client("viewer").get("/items/export.xlsx", params={"status": "failed"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'attachment; filename="items-' in response.headers["content-disposition"]
    sheet, rows = workbook_rows(response.content)
    assert rows[0][:4] == ["Flow", "Run", "Reference", "Status"] and sheet.freeze_panes == "A2"
    assert [(row[2], row[3], row[4], row[5]) for row in rows[1:]] == [
        ("I-1", "failed", "business", "Customer blocked"), ("O-2", "failed", "business", "Out of stock: Doohickey")]
    assert rows[1][7] == datetime(2026, 3, 2, 8, 0) and rows[1][9] == 2.0
    console.close()


def test_items_csv_export_uses_the_same_filters_as_the_list(tmp_path):
    console = seeded_console(tmp_path)
    response = console.client("viewer").get("/items/export.csv", params={"flow": "Orders"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = csv_rows(response.content)
    assert rows[0] == ["Flow", "Run", "Reference", "Status", "Exception", "Reason", "Attempts", "Started (UTC)",
                       "Ended (UTC)", "Duration (s)"]
    assert [row[2] for row in rows[1:]] == ["O-2", "O-1"]
    assert rows[1][7] == "2026-03-01T10:00:00+00:00"
    console.close()


def test_exceptions_exports_respect_the_state_and_flow_filters(tmp_path):
    console = seeded_console(tmp_path)
    operator = console.client("operator")
    operator.get("/exceptions")
    operator.post("/exceptions/resolve", data={"run_id": "r2", "item_ref": "I-1", "note": "unblocked"})
    waiting = csv_rows(operator.get("/exceptions/export.csv").content)
    assert waiting[0][:6] == ["Flow", "Run", "Reference", "Reason", "Failed (UTC)", "State"]
    assert [(row[2], row[5]) for row in waiting[1:]] == [("O-2", "Open")]
    _, resolved = workbook_rows(operator.get("/exceptions/export.xlsx", params={"state": "resolved"}).content)
    assert [(row[2], row[5], row[7]) for row in resolved[1:]] == [("I-1", "Resolved", "unblocked")]
    assert isinstance(resolved[1][4], datetime)
    assert len(workbook_rows(operator.get("/exceptions/export.xlsx",
                                          params={"state": "all", "flow": "Orders"}).content)[1]) == 2
    console.close()


def test_every_export_is_recorded_in_the_console_audit_log(tmp_path):
    console = seeded_console(tmp_path)
    viewer = console.client("viewer")
    viewer.get("/items/export.csv", params={"status": "failed"})
    viewer.get("/exceptions/export.xlsx")
    lines = (console.home / "audit" / "console.jsonl").read_text(encoding="utf-8").splitlines()
    exports = [json.loads(line) for line in lines if '"action":"items.export"' in line
               or '"action":"exceptions.export"' in line]
    assert [(r["action"], r["format"], r["filters"], r["rows"]) for r in exports] == [
        ("items.export", "csv", "status=failed", 2), ("exceptions.export", "xlsx", "state=waiting", 2)]
    console.close()


CANARY = "canary-secret-93b1"
SECRET_FLOW = """
name: Price lines
secrets: [CUSTOMER_CODE]
steps:
  - read_csv: {path: lines.csv, into: lines}
  - for_each_item: "{{ lines }}"
    as: line
    item_ref: "{{ line.sku }}"
    steps:
      - if: "{{ int(line.qty) < 1 }}"
        then:
          - fail_item: "{{ 'customer ' + secrets.CUSTOMER_CODE + ' ordered nothing' }}"
"""


def test_exports_never_contain_a_secret(tmp_path, run_flow_file):
    flow = write_price_flow(tmp_path, lines=f"sku,qty,code\nA-1,2,{CANARY}\nC-3,0,{CANARY}\n", flow=SECRET_FLOW)
    run = run_flow_file(flow, secrets={"CUSTOMER_CODE": CANARY})
    console = console_for(tmp_path, run.store)
    viewer = console.client("viewer")
    downloads = [viewer.get(path).content for path in (
        "/items/export.xlsx", "/items/export.csv", "/exceptions/export.xlsx", "/exceptions/export.csv")]
    assert ",C-3,failed,business,***," in downloads[1].decode("utf-8-sig")  # a reason made from a secret
    for content in downloads:
        assert CANARY.encode() not in content
    for content in (downloads[0], downloads[2]):
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            assert all(CANARY.encode() not in book.read(name) for name in book.namelist())
    console.close()
