"""Against a flaky portal, through the real service: application errors are retried until the order is
in, an out-of-stock order is a business exception that is not retried, and no order is entered twice,
even when a bot is killed after the portal took an order but before the item was marked done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from openpyxl import Workbook

from bastidor.queue import open_work_queue
from conftest import PORTAL_PASSWORD, PORTAL_USER
from service_support import wait_until

REPO = Path(__file__).resolve().parents[1]

FLOW = (REPO / "flows" / "order_entry.yaml").read_text().replace(
    "call: common/login.yaml", f"call: {REPO / 'flows' / 'common' / 'login.yaml'}").replace(
    "  timeout: 10s", "  timeout: 3s").replace(
    "    on_error: continue", "    on_error: continue\n    retry_wait: 500ms\n    max_attempts: 10")


PAUSED_AFTER_SUBMIT = FLOW.replace(
    "        name: Wait for the confirmation or the portal's message\n",
    "        name: Wait for the confirmation or the portal's message\n      - wait: 3s\n"
    "        name: Stand still with the order taken but the item not done\n")


def start_service(tmp_path: Path, portal_url: str, *args: str) -> subprocess.Popen:
    """`runner.py serve` with one worker against the portal; output in tmp_path/serve.log."""
    env = dict(os.environ, BASTIDOR_SECRET_PORTAL_USER=PORTAL_USER, BASTIDOR_SECRET_PORTAL_PASSWORD=PORTAL_PASSWORD)
    (tmp_path / "schedules.yaml").write_text("schedules: []\n")
    return subprocess.Popen([sys.executable, str(REPO / "runner.py"), "--home", str(tmp_path / "home"), "serve",
                             "--schedules", str(tmp_path / "schedules.yaml"), "--workers", "1", "--base-url",
                             portal_url, *args], env=env, stdout=(tmp_path / "serve.log").open("w"),
                            stderr=subprocess.STDOUT)



def write_orders(path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Orders"
    sheet.append(["order_id", "customer", "product", "quantity", "unit_price", "discount_pct"])
    for n, product in enumerate(["Widget", "Gadget", "Doohickey", "Sprocket", "Gizmo", "Widget"], 1):
        sheet.append([f"F-{n}", f"Flaky {n}", product, n, 10, 0])
    book.save(path)


def test_flaky_portal_retries_application_errors_but_not_business_ones(tmp_path, fresh_portal):
    write_orders(tmp_path / "orders.xlsx")
    (tmp_path / "flow.yaml").write_text(FLOW)
    (tmp_path / "schedules.yaml").write_text("schedules: []\n")
    httpx.post(fresh_portal.url + "/api/chaos", json={"delay_ms_max": 0, "failure_rate": 0.35,
                                                                  "seed": 20261127}).raise_for_status()
    env = dict(os.environ, BASTIDOR_SECRET_PORTAL_USER=PORTAL_USER, BASTIDOR_SECRET_PORTAL_PASSWORD=PORTAL_PASSWORD)
    home = tmp_path / "home"
    service = subprocess.Popen([sys.executable, str(REPO / "runner.py"), "--home", str(home), "serve", "--schedules",
                                str(tmp_path / "schedules.yaml"), "--workers", "1", "--base-url", fresh_portal.url],
                               env=env, stdout=(tmp_path / "serve.log").open("w"), stderr=subprocess.STDOUT)
    try:
        queue = open_work_queue(home / "queue.db")
        queue.enqueue_run("flaky", str(tmp_path / "flow.yaml"), {"orders_file": str(tmp_path / "orders.xlsx")},
                          requested_by="test")
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            counts = queue.counts("Order entry")
            if counts.get("successful", 0) + counts.get("failed", 0) == 6:
                break
            time.sleep(0.5)
        items = {item.reference: item for item in queue.items("Order entry")}
        histories = {ref: queue.history(item.id) for ref, item in items.items()}
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=120)
        httpx.post(fresh_portal.url + "/api/chaos", json={"delay_ms_max": 0, "failure_rate": 0.0})
    assert {ref: item.state for ref, item in items.items()} == {
        "F-1": "successful", "F-2": "successful", "F-3": "failed", "F-4": "successful", "F-5": "successful",
        "F-6": "successful"}, (tmp_path / "serve.log").read_text()[-2000:]
    out_of_stock = histories["F-3"]
    assert "Out of stock" in items["F-3"].reason
    assert out_of_stock[-1].to_state == "failed" and "Out of stock" in out_of_stock[-1].reason, \
        "the business exception ends the item: no attempt after it"
    assert sum("Out of stock" in (event.reason or "") for event in out_of_stock) == 1
    retried = [ref for ref, item in items.items() if item.attempts > 1]
    assert retried, "with 35% of requests failing, some orders needed another attempt"
    orders = httpx.get(fresh_portal.url + "/api/orders").json()
    assert sorted(o["customer"] for o in orders) == ["Flaky 1", "Flaky 2", "Flaky 4", "Flaky 5", "Flaky 6"]


def test_bot_killed_after_the_portal_took_the_order_never_enters_it_twice(tmp_path, fresh_portal):
    book = Workbook()
    book.active.title = "Orders"
    book.active.append(["order_id", "customer", "product", "quantity", "unit_price", "discount_pct"])
    book.active.append(["K-1", "Killed mid-item", "Widget", 2, 10, 0])
    book.active.append(["K-2", "After the kill", "Gadget", 1, 10, 0])
    book.save(tmp_path / "orders.xlsx")
    (tmp_path / "flow.yaml").write_text(PAUSED_AFTER_SUBMIT)
    service = start_service(tmp_path, fresh_portal.url, "--lease", "2")
    try:
        queue = open_work_queue(tmp_path / "home" / "queue.db")
        queue.enqueue_run("kill", str(tmp_path / "flow.yaml"), {"orders_file": str(tmp_path / "orders.xlsx")},
                          requested_by="test")
        orders = lambda: httpx.get(fresh_portal.url + "/api/orders").json()  # noqa: E731
        assert wait_until(lambda: len(orders()) == 1, timeout=120), (tmp_path / "serve.log").read_text()[-2000:]
        taken = orders()[0]
        victim = queue.items("Order entry", state="in_progress")[0]
        assert victim.reference == "K-1", "the first order was taken and its item is not done yet"
        os.kill(int(victim.lease_owner.split("-")[-2]), signal.SIGKILL)
        assert wait_until(lambda: queue.counts("Order entry")["successful"] == 2, timeout=120), \
            (tmp_path / "serve.log").read_text()[-2000:]
        history = [event.to_state for event in queue.history(victim.id)]
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=120)
    assert history.count("abandoned") == 1 and history.count("successful") == 1, history
    entered = orders()
    assert sorted(order["customer"] for order in entered) == ["After the kill", "Killed mid-item"]
    assert [o["number"] for o in entered if o["customer"] == "Killed mid-item"] == [taken["number"]]
