"""Benchmark: the order-entry flow versus a hand-written Playwright script doing the same job.

Three ways to enter the same orders into the bundled demo portal, in the same process, each launching
its own browser:

- the hand-written script: one Playwright `fill` per field, as a careful developer writes it;
- the flow with one `fill` (or `select`) step per field;
- the flow as shipped in flows/order_entry.yaml, whose `fill_form` step fills the whole form at once.

Both flows run with full auditing (hash-chained JSONL log, run store, per-item results workbook).
Each round runs the three in turn, starting with a different one each round, so machine noise hits
all of them alike.

    python bench/order_entry_bench.py [--orders 50] [--rounds 3]

Prints each time, the medians and the ratios to the script (targets: per-field flow at most 1.10,
fill_form flow at most 0.90).
"""

from __future__ import annotations

import argparse
import shutil
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


PER_FIELD_STEPS = """\
      - fill: {label: Customer, value: "{{ order.customer }}"}
      - select: {label: Product, option: "{{ order.product }}"}
      - fill: {label: Quantity, value: "{{ order.quantity }}"}
      - fill: {label: Unit price, value: "{{ order.unit_price }}"}
      - fill: {label: Discount (%), value: "{{ order.discount_pct }}"}
      - fill: {label: Order reference, value: "{{ order.order_id }}"}
"""


def flows_folder(work: Path) -> Path:
    """A copy of flows/ holding also order_entry_per_field.yaml: the shipped flow with its `fill_form` step
    written as one step per field."""
    folder = work / "flows"
    shutil.copytree(REPO / "flows", folder)
    shipped = (folder / "order_entry.yaml").read_text(encoding="utf-8")
    start = shipped.index("      - fill_form:")
    end = shipped.index("      - click: {role: button, name: Submit order}")
    (folder / "order_entry_per_field.yaml").write_text(shipped[:start] + PER_FIELD_STEPS + shipped[end:],
                                                       encoding="utf-8")
    return folder


def as_flow(flow_file: Path, url: str, orders: Path, home: Path) -> str:
    """An order-entry flow, run with full auditing."""
    flow = load_flow(flow_file)
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
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bastidor-bench-"))
    rows = make_orders(work / "orders.xlsx", args.orders)
    flows = flows_folder(work)
    ways = {
        "hand-written": lambda url: hand_written(url, rows, work / "s.xlsx"),
        "flow, fill": lambda url: as_flow(flows / "order_entry_per_field.yaml", url, work / "orders.xlsx",
                                          work / "home"),
        "flow, fill_form": lambda url: as_flow(flows / "order_entry.yaml", url, work / "orders.xlsx", work / "home"),
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    with start_portal(PortalSettings(password=PASSWORD, db_path=work / "portal.db", seed=1)) as portal:
        for n in range(args.rounds):
            print(f"round {n + 1}: {args.orders} orders")
            names = list(ways)
            for name in names[n % 3:] + names[:n % 3]:
                httpx.post(portal.url + "/api/reset").raise_for_status()
                times[name].append(timed(name, lambda: ways[name](portal.url)))
    medians = {name: statistics.median(values) for name, values in times.items()}
    script = medians["hand-written"]
    for name, seconds in medians.items():
        print(f"median {name:<16} {seconds:7.2f} s  ({seconds / script:.3f}x the script)")
    print(f"ratio flow with fill / script:      {medians['flow, fill'] / script:.3f}  (target <= 1.10)")
    print(f"ratio flow with fill_form / script: {medians['flow, fill_form'] / script:.3f}  (target <= 0.90)")


if __name__ == "__main__":
    main()
