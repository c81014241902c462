"""The console's Bots page: every machine's service and its bots, what each is doing, runs in the last hour,
the scheduler holder marked, and a service that stopped beating called stale in words, not only colour.

Real services registry and work queue (SQLite, and one PostgreSQL database shared by two homes), the real
console app.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from bastidor.queue import NewItem, open_work_queue
from bastidor.service.registry import open_service_registry
from console_support import make_console

UTC = dt.timezone.utc


def section(page: str, machine: str, pid: int) -> str:
    """The page's section for one service."""
    match = re.search(rf'<section class="([^"]*)" id="service-{machine}-{pid}".*?</section>', page, re.S)
    assert match, f"no section for {machine} pid {pid}"
    return match.group(0)


def bots(name: str, pid: int, *numbers: int) -> list[dict]:
    """A service's bots as its pool describes them."""
    return [{"name": f"{name}-{pid + n}-w{n}", "number": n, "pid": pid + n, "alive": True} for n in numbers]


def register(location: str | Path, home: Path, machine: str, pid: int, *, beat_at: dt.datetime, scheduler: bool,
             workers: list[dict]) -> None:
    """Record a service as `serve` does: registered, then its heartbeat at `beat_at`."""
    registry = open_service_registry(location)
    try:
        entry = registry.register(home, now=beat_at - dt.timedelta(minutes=5), machine=machine, pid=pid)
        registry.beat(entry, holds_scheduler=scheduler, workers=workers, retired_workers=[], now=beat_at)
    finally:
        registry.close()


def test_two_homes_on_one_database_both_listed_with_the_holder_marked_and_the_silent_one_called_stale(
        tmp_path, pg_url, monkeypatch):
    monkeypatch.setenv("BASTIDOR_DATABASE_URL", pg_url)
    now = dt.datetime.now(UTC)
    register(pg_url, tmp_path / "home-a", "machine-a", 101, beat_at=now - dt.timedelta(seconds=3), scheduler=True,
             workers=bots("machine-a", 100, 1, 2))
    register(pg_url, tmp_path / "home-b", "machine-b", 202, beat_at=now - dt.timedelta(minutes=2), scheduler=True,
             workers=bots("machine-b", 200, 1))
    console = make_console(tmp_path, home=tmp_path / "console-home")
    try:
        response = console.client("viewer").get("/bots")
    finally:
        console.close()
    assert response.status_code == 200
    page = response.text
    live, silent = section(page, "machine-a", 101), section(page, "machine-b", 202)
    assert "machine-running" in live and ">scheduler</span>" in live and "stale" not in live
    assert str((tmp_path / "home-a").resolve()) in live and "machine-a-101-w1" in live and "machine-a-102-w2" in live
    assert "machine-stale" in silent and ">stale</span>" in silent and "no heartbeat for over 30 s" in silent
    assert ">scheduler</span>" not in silent, "a silent service is not shown holding the scheduler"
    assert "Scheduler: <strong>machine-a</strong>" in page
    stale_notice = re.search(r'id="stale-services".*?</div>', page, re.S).group(0)
    assert "machine-b pid 202" in stale_notice and "2 min ago" in stale_notice and "machine-a" not in stale_notice


def test_each_bot_shows_its_run_and_item_from_the_queue_leases_and_its_runs_in_the_last_hour(tmp_path):
    home = tmp_path / "home"
    workers = bots("m", 10, 1, 2, 3)
    busy, finisher, idle = (bot["name"] for bot in workers)
    with open_work_queue(home / "queue.db") as queue:
        for key in ("orders@1", "orders@2"):
            queue.enqueue_run(key, str(tmp_path / "orders.yaml"), {}, requested_by="test")
        first = queue.claim_run(busy, 60)
        queue.attach_run(first.id, busy, "run-busy-1")
        queue.add_items("Orders", [NewItem("ORDER-0042", {"qty": 2})])
        queue.claim_item("Orders", busy, 60, run_id="run-busy-1")
        second = queue.claim_run(finisher, 60)
        queue.finish_run(second.id, finisher, "done", run_id="run-done-2")
    register(home / "queue.db", home, "m", 1, beat_at=dt.datetime.now(UTC), scheduler=True, workers=workers)
    console = make_console(tmp_path, home=home)
    try:
        page = section(console.client("viewer").get("/bots").text, "m", 1)
    finally:
        console.close()
    rows = {name: re.search(rf"<tr[^>]*>\s*<th scope=\"row\">{name}.*?</tr>", page, re.S).group(0)
            for name in (busy, finisher, idle)}
    assert 'href="/runs/run-busy-1"' in rows[busy] and "ORDER-0042 (Orders)" in rows[busy]
    assert "orders.yaml (orders@1)" in rows[busy] and ">working</span>" in rows[busy]
    assert ">idle</span>" in rows[finisher] and re.search(r'class="num">1</td>', rows[finisher])
    assert "waiting for work" in rows[idle] and re.search(r'class="num">0</td>', rows[idle])
    assert re.search(r'class="runs-per-hour">1<', page)


def test_any_signed_in_role_sees_the_bots_page_and_its_link_and_nobody_else(tmp_path):
    console = make_console(tmp_path)
    try:
        assert console.client(None).get("/bots").status_code == 303
        viewer = console.client("viewer")
        page = viewer.get("/bots").text
        assert "No service has registered yet" in page
        assert '<a href="/bots" aria-current="page">Bots</a>' in page
        assert page.count('href="/bots"') == 1
        assert '<a href="/bots">Bots</a>' in viewer.get("/runs").text
    finally:
        console.close()
