"""Everything at once: 200 orders through `serve --workers 2` against the real portal while bots are killed
at random every few orders, the service is stopped with SIGTERM and started again twice, and the disk fills
up once. At the end every item is in exactly one final state, the portal holds each order exactly once, no
run is left running, every audit log verifies, and the run history's counts add up to the portal's."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import httpx
from openpyxl import Workbook

from bastidor.audit import verify_audit_log
from conftest import PORTAL_PASSWORD, PORTAL_USER
from disk_support import disk_filled
from service_support import REPO, children_of, output, queue_of, runner, serve, started, stop, wait_until

ORDERS = 200
QUEUE = "Order entry"
FLOW = (REPO / "flows" / "order_entry.yaml").read_text().replace(
    "call: common/login.yaml", f"call: {REPO / 'flows' / 'common' / 'login.yaml'}").replace(
    "  timeout: 10s", "  timeout: 5s").replace(
    "    on_error: continue", "    on_error: continue\n    retry_wait: 500ms\n    max_attempts: 10")
PRODUCTS = ("Widget", "Gadget", "Sprocket", "Gizmo")


def write_orders(path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Orders"
    sheet.append(["order_id", "customer", "product", "quantity", "unit_price", "discount_pct"])
    for n in range(1, ORDERS + 1):
        sheet.append([f"FI-{n:04d}", f"Customer {n}", PRODUCTS[n % len(PRODUCTS)], 1, 10, 0])
    book.save(path)


class Chaos:
    """The service under test and what is done to it."""

    def __init__(self, folder: Path, portal_url: str):
        self.folder = folder
        self.env = dict(os.environ, BASTIDOR_SECRET_PORTAL_USER=PORTAL_USER,
                        BASTIDOR_SECRET_PORTAL_PASSWORD=PORTAL_PASSWORD)
        self.portal_url = portal_url
        self.service = None
        self.outputs: list[str] = []
        self.rng = random.Random(20261203)
        self.kills = self.restarts = self.disk_fills = 0

    def start(self) -> None:
        self.service = serve(self.folder, "--workers", "2", "--lease", "2", "--drain-timeout", "20",
                             "--base-url", self.portal_url, env=self.env)
        assert wait_until(lambda: started(self.service), timeout=120), output(self.service)

    def restart(self) -> None:
        self.outputs.append(stop(self.service, timeout=180))
        self.restarts += 1
        self.start()

    def kill_a_bot(self) -> None:
        bots = children_of(self.service.pid)
        if bots:
            os.kill(self.rng.choice(bots), signal.SIGKILL)
            self.kills += 1

    def finish(self) -> None:
        self.outputs.append(stop(self.service, timeout=180))


def counts(folder: Path) -> dict[str, int]:
    with queue_of(folder) as queue:
        return queue.counts(QUEUE)


def test_two_hundred_orders_survive_killed_bots_restarts_and_a_full_disk_with_every_count_true(
        small_disk, tmp_path, fresh_portal, record_property):
    write_orders(tmp_path / "orders.xlsx")
    (tmp_path / "flow.yaml").write_text(FLOW)
    (small_disk / "schedules.yaml").write_text("schedules: []\n")
    chaos = Chaos(small_disk, fresh_portal.url)
    chaos.start()
    for _ in range(2):  # two runs, so both bots take orders from the queue
        runner(small_disk, "trigger", str(tmp_path / "flow.yaml"), "--input",
               f"orders_file={tmp_path / 'orders.xlsx'}")
    _drive(chaos, small_disk)
    chaos.finish()
    figures = _check_everything_adds_up(small_disk, fresh_portal.url, chaos)
    record_property("figures", figures)  # printed at the end of the test report (conftest.py)
    assert (chaos.restarts, chaos.disk_fills) == (2, 1) and chaos.kills >= 10, figures


KILL_EVERY = 6
"""A bot is killed each time this many more orders have been entered since the last kill: the faults keep pace
with the work (on a loaded machine a clock-paced killer would kill each new bot before it could enter any)."""
STALL_S = 240
"""The test fails when no order ends for this long: progress is what is waited for, not a fixed time."""


def _drive(chaos: Chaos, folder: Path) -> None:
    """Kill a bot every few orders; SIGTERM and restart the service at 25% and 60% done, fill the disk at 40%."""
    restarts_at, fill_at = [ORDERS // 4, ORDERS * 3 // 5], ORDERS * 2 // 5
    last_ended, last_progress, next_kill = -1, time.monotonic(), KILL_EVERY
    while time.monotonic() - last_progress < STALL_S:
        done = counts(folder)
        ended = done["successful"] + done["failed"]
        if ended == ORDERS:
            return
        if ended != last_ended:
            last_ended, last_progress = ended, time.monotonic()
        if restarts_at and done["successful"] >= restarts_at[0]:
            restarts_at.pop(0)
            chaos.restart()
        elif fill_at and done["successful"] >= fill_at:
            fill_at = None
            _fill_the_disk_once(chaos, folder)
        elif done["successful"] >= next_kill:
            chaos.kill_a_bot()
            next_kill = done["successful"] + chaos.rng.randint(KILL_EVERY - 2, KILL_EVERY + 2)
        wait_until(lambda: _ended(folder) != ended, timeout=2, every=0.2)  # the next order ending, or a look again
    raise AssertionError(f"no order ended for {STALL_S} s: {counts(folder)}\n{_requests(folder)}\n"
                         f"{output(chaos.service)[-3000:]}")


def _ended(folder: Path) -> int:
    done = counts(folder)
    return done["successful"] + done["failed"]


def _requests(folder: Path) -> str:
    """The run requests and their histories, to see where work stopped."""
    with queue_of(folder) as queue:
        return "\n".join(f"{r.id} {r.key} {r.state} attempts={r.attempts} not_before={r.not_before} {r.error}: "
                         + "; ".join(f"{e.to_state} {e.reason or ''}" for e in queue.run_history(r.id))
                         for r in queue.list_runs(limit=1000))


def _fill_the_disk_once(chaos: Chaos, folder: Path) -> None:
    before = output(chaos.service).count("storage fault")
    with disk_filled(folder):
        assert wait_until(lambda: output(chaos.service).count("storage fault") > before, timeout=120), \
            output(chaos.service)[-3000:]
        assert chaos.service.poll() is None, "the service lives through the full disk"
    chaos.disk_fills += 1


def _check_everything_adds_up(folder: Path, portal_url: str, chaos: Chaos) -> str:
    with queue_of(folder) as queue:
        items = queue.items(QUEUE)
        finals = {item.reference: [e.to_state for e in queue.history(item.id)] for item in items}
    assert len(items) == ORDERS and {item.state for item in items} <= {"successful", "failed"}
    assert all(states.count("successful") + states.count("failed") == 1 for states in finals.values()), finals
    orders = httpx.get(portal_url + "/api/orders").json()
    references = [order["reference"] for order in orders]
    assert len(references) == len(set(references)), "the portal holds each order once"
    successful = sorted(item.reference for item in items if item.state == "successful")
    assert sorted(references) == successful
    listed = json.loads(runner(folder, "runs", "list", "--json", "--limit", "1000").stdout)
    assert "running" not in {run["status"] for run in listed}
    succeeded_in_runs = sum(run["items_succeeded"] for run in listed)
    figures = (f"fault injection: {len(orders)} orders in the portal, {len(successful)} items successful in the "
               f"queue, {succeeded_in_runs} succeeded over {len(listed)} runs ({_by_status(listed)}); {chaos.kills} "
               f"bots killed, {chaos.restarts} restarts, {chaos.disk_fills} full disk")
    assert succeeded_in_runs == len(orders) == len(successful), figures
    # Every log verifies: a killed bot's run log ends without its last records, which is INCOMPLETE (a warning,
    # "the records it wrote are intact"), never an error.
    for log in (folder / "home").rglob("*.jsonl"):
        verdict = verify_audit_log(log)
        assert not [p for p in verdict.problems if p.severity == "error"], (log, verdict.problems)
    return figures


def _by_status(runs: list[dict]) -> str:
    statuses = [run["status"] for run in runs]
    return ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses)))
