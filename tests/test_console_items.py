"""The Items pages: the filtered, paged list of every item, and one item's timeline of attempts (steps,
input row beside the values submitted, work-queue history), on real stores filled by real runs."""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta
from urllib.parse import quote

from console_items_support import (
    PRICE_FLOW_NAME,
    add_item,
    add_run,
    console_for,
    day,
    fail_in_queue,
    run_in_service,
    write_price_flow,
)
from console_support import make_console
from sqlalchemy import event

from bastidor.audit import AuditLog
from bastidor.console.data.item_timeline import item_timeline
from bastidor.console.data.items import ItemFilters, list_items
from bastidor.queue import open_work_queue
from bastidor.store import StepRecord


def item_links(html: str) -> list[str]:
    """The item references linked from an items page, in order."""
    return [ref for _, ref in re.findall(r'href="/items/([^/"]+)/([^"]+)"', html)]


def test_items_page_lists_every_item_of_real_runs_with_status_and_reason(tmp_path, run_flow_file):
    run = run_flow_file(write_price_flow(tmp_path))
    console = console_for(tmp_path, run.store)
    page = console.client("viewer").get("/items")
    assert page.status_code == 200
    assert sorted(item_links(page.text)) == ["A-1", "B-2", "C-3", "D-4"]
    assert "quantity must be at least 1 for C-3" in page.text
    assert f'href="/runs/{run.result.run_id}"' in page.text
    console.close()


def test_items_page_filters_failed_business_items_by_reference(tmp_path, run_flow_file):
    run = run_flow_file(write_price_flow(tmp_path))
    console = console_for(tmp_path, run.store)
    viewer = console.client("viewer")
    failed = viewer.get("/items", params={"status": "failed", "exception": "business"})
    assert sorted(item_links(failed.text)) == ["C-3", "D-4"]
    one = viewer.get("/items", params={"status": "failed", "ref": "c-3"})
    assert item_links(one.text) == ["C-3"]
    assert 'href="/items/export.xlsx?status=failed&amp;ref=c-3"' in one.text
    console.close()


def test_items_filter_by_flow_exception_kind_and_date_range(tmp_path):
    console = make_console(tmp_path)
    store = console.context.store
    add_run(store, "r-orders", "Orders", day(2026, 3, 1))
    add_run(store, "r-invoices", "Invoices", day(2026, 3, 2))
    add_item(store, "r-orders", "O-1", day(2026, 3, 1, 9))
    add_item(store, "r-orders", "O-2", day(2026, 3, 2, 23), "failed", "application", "portal timed out")
    add_item(store, "r-orders", "O-3", day(2026, 3, 3, 0), "failed", "business", "out of stock")
    add_item(store, "r-invoices", "I-1", day(2026, 3, 2, 8), "failed", "business", "customer blocked")

    def refs(**query: str) -> list[str]:
        """The references listed for these filters."""
        return [row.item_ref for row in list_items(store, ItemFilters.from_query(query)).rows]

    assert refs(flow="Orders") == ["O-3", "O-2", "O-1"]
    assert refs(exception="business") == ["O-3", "I-1"]
    assert refs(exception="application") == ["O-2"]
    assert refs(**{"from": "2026-03-02", "to": "2026-03-02"}) == ["O-2", "I-1"]
    assert refs(flow="Orders", **{"from": "2026-03-02"}) == ["O-3", "O-2"]
    console.close()


def test_items_list_pages_newest_first_and_a_page_past_the_end_shows_the_last(tmp_path):
    console = make_console(tmp_path)
    store = console.context.store
    add_run(store, "r1", "Orders", day(2026, 3, 1))
    for number in range(120):
        add_item(store, "r1", f"O-{number:03d}", day(2026, 3, 1) + timedelta(seconds=number))
    first = list_items(store, ItemFilters.from_query({}))
    assert (first.total, first.pages, first.rows[0].item_ref) == (120, 3, "O-119")
    last = list_items(store, ItemFilters.from_query({"page": "99"}))
    assert last.page == 3 and [row.item_ref for row in last.rows][-1] == "O-000" and len(last.rows) == 20
    html = console.client("viewer").get("/items", params={"page": "2"}).text
    assert "Page 2 of 3" in html and 'href="/items?page=3"' in html
    console.close()


def test_items_list_reads_one_page_through_indexes_not_a_sort_of_every_item(tmp_path):
    console = make_console(tmp_path)
    store = console.context.store
    add_run(store, "r1", "Orders", day(2026, 3, 1))
    add_item(store, "r1", "O-1", day(2026, 3, 1))
    statements: list[tuple[str, object]] = []
    listener = lambda conn, cursor, sql, params, context, many: statements.append((sql, params))  # noqa: E731
    event.listen(store.engine, "before_cursor_execute", listener)
    list_items(store, ItemFilters.from_query({}))
    item_timeline(store, None, "r1", "O-1")
    event.remove(store.engine, "before_cursor_execute", listener)
    with store.engine.connect() as connection:
        plans = {sql: " | ".join(row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params))
                 for sql, params in statements if "FROM items" in sql}
    page_plan = next(plan for sql, plan in plans.items() if "LIMIT" in sql and "ORDER BY items.started_at DESC" in sql)
    assert "ix_items_started_at" in page_plan and "TEMP B-TREE FOR ORDER BY" not in page_plan
    same_item = next(plan for sql, plan in plans.items() if "runs.flow_name = " in sql and "ORDER BY" in sql)
    assert "ix_items_item_ref" in same_item
    console.close()


def test_bad_filter_values_are_ignored_and_the_page_says_why(tmp_path):
    console = make_console(tmp_path)
    page = console.client("viewer").get("/items", params={"from": "last tuesday", "status": "weird"})
    assert page.status_code == 200
    assert "From date &#39;last tuesday&#39; is not a date like 2026-11-27" in page.text
    assert "Status &#39;weird&#39; is not one of successful, failed, in_progress, postponed" in page.text
    console.close()


def test_item_timeline_shows_every_attempt_across_runs_with_their_steps(tmp_path, run_flow_file):
    flow = write_price_flow(tmp_path)
    first, second = run_flow_file(flow), run_flow_file(flow)
    timeline = item_timeline(second.store, None, second.result.run_id, "C-3")
    assert [attempt.run_id for attempt in timeline.attempts] == [first.result.run_id, second.result.run_id]
    latest = timeline.attempts[-1]
    assert (latest.status, latest.exception, latest.reason) == ("failed", "business",
                                                                "quantity must be at least 1 for C-3")
    assert [(step.action, step.status) for step in latest.steps] == [
        ("fail_item", "business_exception"), ("if", "business_exception"), ("set", "not_run")]
    assert latest.data == {"sku": "C-3", "qty": "0", "price": "5.00"}
    console = console_for(tmp_path, second.store)
    html = console.client("viewer").get(f"/items/{second.result.run_id}/C-3").text
    assert html.count('class="attempt"') == 2 and "business exception" in html
    assert f'href="/runs/{first.result.run_id}"' in html
    console.close()


def test_item_timeline_shows_the_work_queue_history_of_a_queued_item(tmp_path, run_flow_file):
    run = run_flow_file(write_price_flow(tmp_path))
    console = console_for(tmp_path, run.store)
    queue = console.context.queue
    fail_in_queue(queue, PRICE_FLOW_NAME, "C-3", "quantity must be at least 1 for C-3")
    timeline = item_timeline(run.store, queue, run.result.run_id, "C-3")
    assert timeline.queue_item is not None and timeline.queue_item.state == "failed"
    assert [event.to_state for event in timeline.queue_events] == ["new", "in_progress", "failed"]
    assert item_timeline(run.store, queue, run.result.run_id, "A-1").queue_item is None
    html = console.client("viewer").get(f"/items/{run.result.run_id}/C-3").text
    assert "Work queue history" in html and "business exception: quantity must be at least 1" in html
    console.close()


def test_two_attempts_in_one_run_are_told_apart_with_the_audit_log(tmp_path):
    console = make_console(tmp_path)
    store = console.context.store
    audit_path = tmp_path / "home" / "runs" / "r1" / "audit.jsonl"
    add_run(store, "r1", "Orders", day(2026, 3, 1), audit_path=str(audit_path))
    with AuditLog.open(audit_path, run_id="r1", flow="Orders", flow_sha256="0" * 64) as log:
        for attempt, value, outcome in ((1, "first try", "failed"), (2, "second try", "passed")):
            log.event("item.started", item_ref="O/1", attempt=attempt, data={"qty": 2})
            log.event("step", action="fill", target='label "Quantity"', params={"value": "{{ q }}"},
                      values={"value": value}, item_ref="O/1", attempt=1, outcome=outcome)
            status = "failed" if outcome == "failed" else "successful"
            log.event("item.finished", item_ref="O/1", attempt=attempt, status=status,
                      exception="application" if status == "failed" else None,
                      reason="portal timed out" if status == "failed" else None)
    store.add_steps([StepRecord(run_id="r1", seq=seq, path="2[1].1", status=status, action="fill",
                                item_ref="O/1", duration_ms=5) for seq, status in ((1, "failed"), (2, "passed"))])
    add_item(store, "r1", "O/1", day(2026, 3, 1), attempts=2, data={"qty": 2})
    timeline = item_timeline(store, None, "r1", "O/1")
    assert [(a.number, a.status, a.reason) for a in timeline.attempts] == [
        (1, "failed", "portal timed out"), (2, "successful", None)]
    assert [[v.value for v in a.submitted] for a in timeline.attempts] == [["first try"], ["second try"]]
    assert [[s.status for s in a.steps] for a in timeline.attempts] == [["failed"], ["passed"]]
    page = console.client("viewer").get(f"/items/r1/{quote('O/1')}")
    assert page.status_code == 200 and "second try" in page.text
    console.close()


def test_an_unknown_item_gives_a_page_that_says_where_to_look(tmp_path):
    console = make_console(tmp_path)
    page = console.client("viewer").get("/items/no-such-run/X-1")
    assert page.status_code == 404 and "Items list" in page.text
    console.close()


def test_a_signed_out_visitor_is_sent_to_sign_in(tmp_path):
    console = make_console(tmp_path)
    for path in ("/items", "/items/export.csv", "/items/r1/X-1"):
        response = console.client(None).get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    console.close()


ORDER_FLOW = """
name: Enter orders
secrets: [PORTAL_USER, PORTAL_PASSWORD, CUSTOMER_CODE]
steps:
  - open: /login
  - fill: {label: Username, value: "{{ secrets.PORTAL_USER }}"}
  - fill: {label: Password, value: "{{ secrets.PORTAL_PASSWORD }}"}
  - click: {role: button, name: Sign in}
  - read_csv: {path: orders.csv, into: orders}
  - for_each_item: "{{ orders }}"
    as: order
    item_ref: "{{ order.order_id }}"
    steps:
      - open: /orders/new
      - fill: {label: Customer, value: "{{ order.customer + ' ' + secrets.CUSTOMER_CODE }}"}
      - select: {label: Product, option: "{{ order.product }}"}
      - fill: {label: Quantity, value: "{{ order.quantity }}"}
      - fill: {label: Unit price, value: "{{ order.unit_price }}"}
      - fill: {label: Discount (%), value: "{{ order.discount_pct }}"}
      - fill: {label: Order reference, value: "{{ order.order_id }}"}
      - click: {role: button, name: Submit order}
      - wait_for: {css: "[data-testid=order-number], [role=alert]"}
      - is_visible: {role: alert, into: rejected}
      - if: "{{ rejected }}"
        then:
          - extract_text: {css: "[role=alert] li", into: reason}
          - fail_item: "{{ reason }}"
"""
ORDERS = ("order_id,customer,product,quantity,unit_price,discount_pct\n"
          "ORD-0001,Globex,Gadget,2,7.99,5\nORD-0007,Globex,Doohickey,8,19.90,15\n")
CANARY = "canary-code-5e1d"


def test_item_page_shows_the_input_row_beside_the_values_submitted_with_secrets_masked(
        tmp_path, run_flow_file, fresh_portal):
    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "orders.yaml").write_text(ORDER_FLOW, encoding="utf-8")
    run = run_flow_file(tmp_path / "orders.yaml", base_url=fresh_portal.url, secrets={"CUSTOMER_CODE": CANARY})
    assert {ref: item.status for ref, item in run.items().items()} == {"ORD-0001": "successful",
                                                                       "ORD-0007": "failed"}
    timeline = item_timeline(run.store, None, run.result.run_id, "ORD-0007")
    submitted = [(value.action, value.target, value.value) for value in timeline.latest.submitted]
    assert submitted[0] == ("fill", 'label "Customer"', "***")  # computed from a secret: masked in the audit log
    assert submitted[1:3] == [("select", 'label "Product"', "Doohickey"), ("fill", 'label "Quantity"', "8")]
    assert ("fill", 'label "Order reference"', "ORD-0007") in submitted
    console = console_for(tmp_path, run.store)
    html = console.client("viewer").get(f"/items/{run.result.run_id}/ORD-0007").text
    assert "Input row" in html and "Values submitted" in html and "Doohickey" in html
    assert "Out of stock: Doohickey" in html
    assert CANARY not in html and "<code>***</code>" in html
    console.close()


def test_an_item_with_many_runs_shows_the_latest_ones_and_always_the_one_opened(tmp_path):
    console = make_console(tmp_path)
    store = console.context.store
    for number in range(22):
        add_run(store, f"r{number:02d}", "Orders", day(2026, 3, 1) + timedelta(hours=number))
        add_item(store, f"r{number:02d}", "O-1", day(2026, 3, 1) + timedelta(hours=number))
    latest = item_timeline(store, None, "r21", "O-1")
    assert [a.run_id for a in latest.attempts][0] == "r02" and latest.earlier_runs_hidden == 2
    oldest = item_timeline(store, None, "r00", "O-1")
    assert [a.run_id for a in oldest.attempts][:2] == ["r00", "r03"] and len(oldest.attempts) == 20
    assert "2 earlier runs not shown" in console.client("viewer").get("/items/r21/O-1").text
    console.close()


def test_a_run_store_made_before_the_console_gets_the_indexes_the_items_list_needs(tmp_path):
    from bastidor.store import open_run_store

    path = tmp_path / "old-runs.db"
    open_run_store(path).close()
    with sqlite3.connect(path) as old:
        for index in ("ix_items_started_at", "ix_items_item_ref", "ix_items_exception_status"):
            old.execute(f"DROP INDEX {index}")
        old.execute("DROP TABLE alembic_version_runs")  # made before schema versions: none recorded
    open_run_store(path).close()
    with sqlite3.connect(path) as reopened:
        names = {row[0] for row in reopened.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"ix_items_started_at", "ix_items_item_ref", "ix_items_exception_status"} <= names


SECRET_REASON_FLOW = """
name: Price lines
secrets: [CUSTOMER_CODE]
steps:
  - read_csv: {path: lines.csv, into: lines}
  - for_each_item: "{{ lines }}"
    as: line
    item_ref: "{{ line.sku }}"
    steps:
      - fail_item: "{{ 'customer ' + secrets.CUSTOMER_CODE + ' is blocked' }}"
"""


def test_a_queued_item_s_history_never_shows_a_secret_from_its_failure_reason(tmp_path, run_flow_file):
    flow = write_price_flow(tmp_path, lines="sku,qty,price\nC-3,1,5.00\n", flow=SECRET_REASON_FLOW)
    queue = open_work_queue(tmp_path / "home" / "queue.db")
    run = run_in_service(run_flow_file, flow, queue, secrets={"CUSTOMER_CODE": CANARY})
    [item] = queue.items(PRICE_FLOW_NAME)
    assert item.state == "failed" and CANARY not in item.reason and "***" in item.reason
    console = console_for(tmp_path, run.store)
    page = console.client("viewer").get(f"/items/{run.result.run_id}/C-3").text
    assert "Work queue history" in page and CANARY not in page
    queue.close()
    console.close()
