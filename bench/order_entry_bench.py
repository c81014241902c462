"""Benchmark: the order-entry flow versus a hand-written Playwright script doing the same job.

Both enter the same orders into the bundled demo portal, in the same process, each launching its
own browser. The flow runs with full auditing (hash-chained JSONL log, run store, per-item results
workbook). Rounds alternate (script, flow, script, flow, ...) so machine noise hits both alike.

    python bench/order_entry_bench.py [--orders 50] [--rounds 1]

Prints each time and the ratio flow / script (target: at most 1.10).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import httpx
from openpyxl import Workbook

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bastidor.bots.discovery import find_browser, launch_args  # noqa: E402
from bastidor.demo_portal import PortalSettings, start_portal  # noqa: E402
from bastidor.executor.run import RunOptions, run_flow  # noqa: E402
from bastidor.flow.loader import load_flow  # noqa: E402
from bastidor.secrets import default_secrets  # noqa: E402
from bastidor.store import open_run_store  # noqa: E402

PASSWORD = "bench-password-1"
PRODUCTS = [("Widget", "12.50"), ("Gadget", "7.99"), ("Sprocket", "3.25"), ("Gizmo", "45.00")]


def make_orders(path: Path, count: int) -> list[list]:
    """A workbook of `count` in-stock orders, as the flow reads it; returns the rows."""
    rows = []
    for n in range(1, count + 1):
        product, price = PRODUCTS[n % len(PRODUCTS)]
        rows.append([f"B-{n:04d}", f"Customer {n % 9}", product, 1 + n % 5, Decimal(price), Decimal(n % 15)])
    book = Workbook()
    sheet = book.active
    sheet.title = "Orders"
    sheet.append(["order_id", "customer", "product", "quantity", "unit_price", "discount_pct"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return rows


def field(page, label: str):
    """A form field by its label, tied or not (what a careful script author writes for this portal)."""
    tied = page.get_by_label(label, exact=True)
    untied = page.locator("div.field", has=page.get_by_text(label, exact=True)).locator("input, select")
    return tied.or_(untied).first


def hand_written(url: str, rows: list[list], out: Path) -> None:
    """The same job written directly against Playwright: sign in, enter each order, check, save results."""
    from playwright.sync_api import sync_playwright

    choice = find_browser()
    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=choice.executable_path, args=launch_args(choice))
        page = browser.new_context(base_url=url).new_page()
        page.goto("/login")
        page.get_by_label("Username").fill("analyst")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Log out").wait_for()
        for order_id, customer, product, qty, price, discount in rows:
            expected = (qty * price * (1 - discount / 100)).quantize(Decimal("0.01"), ROUND_HALF_UP)
            page.goto("/orders/new")
            field(page, "Customer").fill(customer)
            field(page, "Product").select_option(product)
            field(page, "Quantity").fill(str(qty))
            field(page, "Unit price").fill(str(price))
            field(page, "Discount (%)").fill(str(discount))
            field(page, "Order reference").fill(order_id)
            page.get_by_role("button", name="Submit order").click()
            page.locator("[data-testid=order-number], [role=alert]").first.wait_for()
            number = page.get_by_test_id("order-number").inner_text()
            total = page.get_by_test_id("order-total").inner_text()
            assert total == str(expected), (order_id, total, expected)
            results.append([order_id, number, customer, product, expected])
        browser.close()
    book = Workbook()
    book.active.append(["order_id", "order_number", "customer", "product", "total"])
    for row in results:
        book.active.append(row)
    book.save(out)


def as_flow(url: str, orders: Path, home: Path) -> str:
    """The order-entry flow from flows/, run with full auditing."""
    flow = load_flow(REPO / "flows" / "order_entry.yaml")
    store = open_run_store(home / "runs.db")
    secrets = default_secrets(extra={"PORTAL_USER": "analyst", "PORTAL_PASSWORD": PASSWORD})
    result = run_flow(flow, RunOptions(home=home, inputs={"orders_file": str(orders)}, base_url=url,
                                       secrets=secrets), store)
    store.close()
    if result.status != "succeeded":
        raise SystemExit(f"flow run did not succeed: {result.status} {result.failures[:3]} {result.error}")
    return result.run_id


def timed(label: str, action) -> float:
    start = time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    print(f"  {label:<14} {seconds:7.2f} s")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bastidor-bench-"))
    rows = make_orders(work / "orders.xlsx", args.orders)
    script_times, flow_times = [], []
    with start_portal(PortalSettings(password=PASSWORD, db_path=work / "portal.db", seed=1)) as portal:
        reset = lambda: httpx.post(portal.url + "/api/reset").raise_for_status()  # noqa: E731
        for n in range(1, args.rounds + 1):
            print(f"round {n}: {args.orders} orders")
            reset()
            script_times.append(timed("hand-written", lambda: hand_written(portal.url, rows, work / "s.xlsx")))
            reset()
            flow_times.append(timed("flow", lambda: as_flow(portal.url, work / "orders.xlsx", work / "home")))
    script, flow = statistics.median(script_times), statistics.median(flow_times)
    print(f"median hand-written script: {script:.2f} s")
    print(f"median flow (full audit):   {flow:.2f} s")
    print(f"ratio flow / script:        {flow / script:.3f}  (target <= 1.10)")


if __name__ == "__main__":
    main()
