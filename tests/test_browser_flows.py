"""The sample flows and browser steps, run for real in Chromium against the bundled demo portal."""

from __future__ import annotations

from pathlib import Path

import httpx
from openpyxl import load_workbook

from bastidor.audit import verify_audit_log

FLOWS = Path(__file__).resolve().parents[1] / "flows"


def api(portal, path: str):
    return httpx.get(portal.url + path).json()


def sheet_rows(path: Path, sheet: str) -> list[list]:
    book = load_workbook(path, read_only=True)
    try:
        return [list(row) for row in book[sheet].iter_rows(values_only=True)]
    finally:
        book.close()


def test_order_entry_flow_enters_every_order_in_the_portal(fresh_portal, run_flow_file):
    run = run_flow_file(FLOWS / "order_entry.yaml", base_url=fresh_portal.url)
    orders = api(fresh_portal, "/api/orders")
    assert run.result.items_succeeded == 11
    assert len(orders) == 11
    assert {o["customer"] for o in orders} >= {"Acme Ltd", "Globex"}


def test_running_the_order_entry_again_never_enters_an_order_twice(fresh_portal, run_flow_file):
    first = run_flow_file(FLOWS / "order_entry.yaml", base_url=fresh_portal.url)
    second = run_flow_file(FLOWS / "order_entry.yaml", base_url=fresh_portal.url)
    orders = api(fresh_portal, "/api/orders")
    assert len(orders) == 11 and len({o["reference"] for o in orders}) == 11
    assert second.result.items_succeeded == 11, "the portal hands back the order each reference made"
    numbers = [sorted(row[1] for row in sheet_rows(run.result.run_dir / "order-results.xlsx", "Results")[1:])
               for run in (first, second)]
    assert numbers[0] == numbers[1]


def test_order_entry_writes_results_and_exceptions_workbook(fresh_portal, run_flow_file):
    run = run_flow_file(FLOWS / "order_entry.yaml", base_url=fresh_portal.url)
    workbook = run.result.run_dir / "order-results.xlsx"
    results = sheet_rows(workbook, "Results")
    assert results[0] == ["order_id", "order_number", "customer", "product", "total"]
    assert len(results) == 12
    portal_totals = {o["number"]: o["total"] for o in api(fresh_portal, "/api/orders")}
    for row in results[1:]:
        assert str(row[4]) == str(portal_totals[row[1]]).rstrip("0").rstrip(".") or \
            float(row[4]) == float(portal_totals[row[1]])
    exceptions = sheet_rows(workbook, "Exceptions")
    assert exceptions[1] == ["ORD-0007", "Globex", "Out of stock: Doohickey (available: 0)"]


def test_out_of_stock_order_is_a_business_exception_with_a_screenshot(fresh_portal, run_flow_file):
    run = run_flow_file(FLOWS / "order_entry.yaml", base_url=fresh_portal.url)
    item = run.items()["ORD-0007"]
    assert item.status == "failed"
    assert item.reason == "Out of stock: Doohickey (available: 0)"
    failed = [s for s in run.steps() if s.item_ref == "ORD-0007" and s.status == "business_exception"]
    shot = next(s for s in failed if s.screenshot)
    assert (run.result.run_dir / shot.screenshot).stat().st_size > 1000
    assert '"exception":"business"' in run.audit_text


def test_order_entry_audit_log_verifies(fresh_portal, run_flow_file):
    run = run_flow_file(FLOWS / "order_entry.yaml", base_url=fresh_portal.url)
    result = verify_audit_log(run.result.audit_path)
    assert result.ok, result.problems


def test_customer_form_with_moving_untied_fields_is_filled_by_label(fresh_portal, run_flow_file):
    run = run_flow_file(FLOWS / "customer_registration.yaml", base_url=fresh_portal.url)
    customers = {c["email"]: c for c in api(fresh_portal, "/api/customers")}
    assert set(customers) == {"ana.silva@example.com", "ben.okafor@example.com", "chloe.martin@example.com"}
    assert customers["chloe.martin@example.com"]["company"] == "Initech"
    assert customers["ben.okafor@example.com"]["phone"] == "+44 113 000 0002"
    assert run.items()["dev.patel@example"].reason.startswith("Portal refused the customer:")


def test_invoice_flow_reads_the_orders_table_and_downloads_the_export(fresh_portal, run_flow_file):
    run_flow_file(FLOWS / "order_entry.yaml", base_url=fresh_portal.url)
    run = run_flow_file(FLOWS / "invoice.yaml", base_url=fresh_portal.url)
    assert run.result.items_total == 11 and run.result.items_failed == 0
    invoices = sheet_rows(run.result.run_dir / "invoices.xlsx", "Invoices")
    assert invoices[0] == ["invoice", "order", "customer", "net", "vat", "amount_due", "due_date"]
    assert (run.result.run_dir / "orders-export.csv").read_text().count("SO-") == 11


def test_failed_assertion_fails_the_step_with_a_screenshot_and_not_run_steps(fresh_portal, run_flow_file,
                                                                           tmp_path):
    flow = tmp_path / "assert.yaml"
    flow.write_text("""
name: Wrong heading
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 2s}
steps:
  - call: flows/common/login.yaml
  - assert_text: {role: heading, equals: Front office}
  - open: /orders
""".replace("flows/common/login.yaml", str(FLOWS / "common" / "login.yaml")))
    run = run_flow_file(flow, base_url=fresh_portal.url)
    assert run.result.status == "failed"
    failed = next(s for s in run.steps() if s.status == "failed")
    assert "expected the text of role \"heading\"" in failed.error and "Back office" in failed.error
    assert (run.result.run_dir / failed.screenshot).is_file()
    assert [s.status for s in run.steps() if s.path == "3"] == ["not_run"]


def test_dialog_upload_and_page_checks_work_on_the_portal(fresh_portal, run_flow_file, tmp_path):
    upload = tmp_path / "orders.csv"
    upload.write_text("order_id\nORD-1\n")
    flow = tmp_path / "features.yaml"
    flow.write_text(f"""
name: Browser features
secrets: [PORTAL_USER, PORTAL_PASSWORD]
steps:
  - call: {FLOWS / "common" / "login.yaml"}
  - open: /orders/import
  - upload: {{label: Orders file, file: orders.csv}}
  - click: {{role: button, name: Upload}}
  - assert_text: {{test_id: upload-result, contains: "orders.csv"}}
  - open: /orders/new
  - fill: {{label: Customer, value: Dialog Ltd}}
  - select: {{label: Product, option: Widget}}
  - fill: {{label: Quantity, value: "2"}}
  - fill: {{label: Unit price, value: "12.50"}}
  - fill: {{label: Discount (%), value: "0"}}
  - press: {{label: Discount (%), key: Enter}}
  - wait_for_url: "**/orders/SO-*"
  - assert_url: {{matches: "/orders/SO-\\\\d+$"}}
  - extract_text: {{test_id: order-number, into: number}}
  - dialog: accept
  - click: {{role: button, name: Cancel order}}
  - wait_for_text: Order cancelled
  - last_dialog: message
  - assert_text: {{test_id: order-status, contains: ancel}}
  - set: {{checked: "{{{{ contains(message, number) }}}}"}}
  - if: "{{{{ not checked }}}}"
    then:
      - fail_item: dialog did not name the order
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    assert run.result.status == "succeeded", run.result.error
    orders = api(fresh_portal, "/api/orders")
    assert [o["status"] for o in orders] == ["Cancelled"]
