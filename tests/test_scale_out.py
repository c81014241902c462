"""Several machines of bots on one PostgreSQL database: three `serve` processes, each with a home folder of
its own (no shared folder), share one queue. Every item ends in exactly one final state, every order reaches
the portal exactly once, and a PostgreSQL restart in the middle of a batch loses and doubles nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
from openpyxl import Workbook

from bastidor.queue import open_work_queue
from conftest import PORTAL_PASSWORD, PORTAL_USER
from service_support import STARTED, children_of, stop_all, wait_until, write_items

REPO = Path(__file__).resolve().parents[1]
ITEMS = "Slow items"


def start_machine(folder: Path, url: str, workers: int, *args: str, env: dict | None = None) -> subprocess.Popen:
    """`serve` as one machine would run it: its own home folder and schedules, the shared database."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "schedules.yaml").write_text("schedules: []\n")
    log = folder / "serve.log"
    process = subprocess.Popen(
        [sys.executable, str(REPO / "runner.py"), "--home", str(folder / "home"), "--database", url, "serve",
         "--schedules", str(folder / "schedules.yaml"), "--workers", str(workers), *args],
        cwd=folder, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True, env=env or dict(os.environ))
    process.log = log
    STARTED.append(process)
    return process


def started(machine: subprocess.Popen) -> bool:
    """The machine has decided whether it runs the scheduler, so its bots are up."""
    text = machine.log.read_text()
    return "scheduler active" in text or "stands by" in text


def logs(machines: list[subprocess.Popen]) -> str:
    """The last lines each machine printed, for a failed assertion."""
    return "\n".join(f"--- {m.log}:\n{m.log.read_text()[-1500:]}" for m in machines)


def trigger(folder: Path, url: str, flow: Path, times: int) -> None:
    """`runner.py trigger` the flow `times` times from `folder`'s home: one request per bot that should share it."""
    for _ in range(times):
        subprocess.run([sys.executable, str(REPO / "runner.py"), "--home", str(folder / "home"), "--database", url,
                        "trigger", str(flow)], check=True, capture_output=True, text=True, cwd=folder)


def successes_per_item(queue, queue_name: str) -> dict[str, int]:
    """How many times each item of the queue was recorded successful, by reference."""
    return {item.reference: [event.to_state for event in queue.history(item.id)].count("successful")
            for item in queue.items(queue_name)}


def test_three_machines_on_one_database_end_two_thousand_items_each_exactly_once(tmp_path, pg_url):
    write_items(tmp_path, 2000)
    machines = [start_machine(tmp_path / f"machine-{n}", pg_url, 2) for n in (1, 2, 3)]
    assert wait_until(lambda: all(started(m) for m in machines), timeout=120), logs(machines)
    trigger(tmp_path / "machine-1", pg_url, tmp_path / "items.yaml", times=6)
    with open_work_queue(pg_url) as queue:
        done = wait_until(lambda: queue.counts(ITEMS)["successful"] == 2000, timeout=480, every=1.0)
        assert done, f"{queue.counts(ITEMS)}\n{logs(machines)}"
        items = queue.items(ITEMS)
        workers = Counter(event.worker for item in items for event in queue.history(item.id)
                          if event.to_state == "successful")
        successes = successes_per_item(queue, ITEMS)
        bots = {child for machine in machines for child in children_of(machine.pid)}
    stop_all(machines)
    assert len(items) == 2000 and {item.state for item in items} == {"successful"}
    assert set(successes.values()) == {1}, "each item was done exactly once"
    machines_that_worked = {name.split("-")[-2] for name in workers} & {str(pid) for pid in bots}
    assert len(machines_that_worked) >= 2, f"the work was shared by the machines' bots: {workers}"


ORDERS = 18


def write_orders(path: Path) -> None:
    """A workbook of ORDERS orders for the demo portal, each with its own customer name."""
    book = Workbook()
    book.active.title = "Orders"
    book.active.append(["order_id", "customer", "product", "quantity", "unit_price", "discount_pct"])
    for n in range(1, ORDERS + 1):
        book.active.append([f"M-{n:03d}", f"Machine customer {n}", "Widget", 1, 10, 0])
    book.save(path)


def test_three_machines_enter_each_portal_order_exactly_once(tmp_path, pg_url, fresh_portal):
    flow = (REPO / "flows" / "order_entry.yaml").read_text().replace(
        "call: common/login.yaml", f"call: {REPO / 'flows' / 'common' / 'login.yaml'}")
    (tmp_path / "orders.yaml").write_text(flow)
    write_orders(tmp_path / "orders.xlsx")
    env = dict(os.environ, BASTIDOR_SECRET_PORTAL_USER=PORTAL_USER, BASTIDOR_SECRET_PORTAL_PASSWORD=PORTAL_PASSWORD)
    machines = [start_machine(tmp_path / f"machine-{n}", pg_url, 1, "--base-url", fresh_portal.url, env=env)
                for n in (1, 2, 3)]
    assert wait_until(lambda: all(started(m) for m in machines), timeout=120), logs(machines)
    with open_work_queue(pg_url) as queue:
        for n in range(3):
            queue.enqueue_run(f"orders-{n}", str(tmp_path / "orders.yaml"),
                              {"orders_file": str(tmp_path / "orders.xlsx")}, requested_by="test")
        done = wait_until(lambda: queue.counts("Order entry")["successful"] == ORDERS, timeout=300, every=1.0)
        assert done, f"{queue.counts('Order entry')}\n{logs(machines)}"
        successes = successes_per_item(queue, "Order entry")
    stop_all(machines)
    entered = Counter(order["customer"] for order in httpx.get(fresh_portal.url + "/api/orders").json())
    assert entered == {f"Machine customer {n}": 1 for n in range(1, ORDERS + 1)}, "each order entered once"
    assert set(successes.values()) == {1}


def test_postgres_restarted_mid_batch_loses_and_doubles_nothing(tmp_path, private_postgres):
    write_items(tmp_path, 300, wait="20ms")
    url = private_postgres.url
    machines = [start_machine(tmp_path / f"machine-{n}", url, 2) for n in (1, 2)]
    assert wait_until(lambda: all(started(m) for m in machines), timeout=120), logs(machines)
    trigger(tmp_path / "machine-1", url, tmp_path / "items.yaml", times=4)
    with open_work_queue(url) as queue:
        assert wait_until(lambda: queue.counts(ITEMS)["successful"] >= 60, timeout=240), logs(machines)
    private_postgres.restart()
    with open_work_queue(url) as queue:
        done = wait_until(lambda: queue.counts(ITEMS)["successful"] == 300, timeout=300, every=1.0)
        assert done, f"{queue.counts(ITEMS)}\n{logs(machines)}"
        successes = successes_per_item(queue, ITEMS)
        counts = queue.counts(ITEMS)
    outputs = stop_all(machines)
    assert set(successes.values()) == {1} and len(successes) == 300, "nothing lost, nothing done twice"
    assert counts["failed"] == 0 and counts["in_progress"] == 0
    assert [machine.returncode for machine in machines] == [0, 0], [out[-3000:] for out in outputs]


def test_after_a_postgres_restart_a_lease_its_bot_could_not_renew_is_not_handed_back_at_once(private_postgres):
    import datetime as dt

    from bastidor.queue import NewItem

    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=10)  # every lease has expired by then
    with open_work_queue(private_postgres.url) as queue:
        queue.add_items("orders", [NewItem("held-through-restart"), NewItem("claimed-after-restart")])
        held = queue.claim_item("orders", "bot-a", lease_s=30)
        private_postgres.restart()
        after = queue.claim_item("orders", "bot-b", lease_s=30)
        reaped = queue.reap_expired(now=later)
        assert reaped.items_requeued == [after.id], "only the lease renewed since the restart is reaped"
        assert queue.get_item(held.id).state == "in_progress"
        assert queue.complete_item(held.id, "bot-a").state == "successful", "the bot kept its item"


def test_a_machine_whose_clock_is_off_the_database_is_warned_at_start(pg_url, monkeypatch):
    import datetime as dt

    from bastidor.database import clock

    assert clock.clock_warning(pg_url) is None, "this machine and its database agree"
    real = dt.datetime

    class Ahead(real):
        @classmethod
        def now(cls, tz=None):
            return real.now(tz) + dt.timedelta(seconds=40)

    monkeypatch.setattr(clock.dt, "datetime", Ahead)
    warning = clock.clock_warning(pg_url)
    assert warning and "40.0 s ahead of the database server's" in warning and "NTP" in warning
