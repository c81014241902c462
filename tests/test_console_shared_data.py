"""The console's data on the shared PostgreSQL database reads as on the home folder's SQLite files: KPIs count an
item on its UTC day whatever the server's time zone, exception cases are opened once even when two consoles
sync at once, flow versions are kept, and filter text is taken literally, ignoring case, on both.

Each test runs on both backends (the `backend` fixture): the console opened on a home folder, with or
without `$BASTIDOR_DATABASE_URL` naming a fresh PostgreSQL database.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest

from bastidor.console.data.exceptions import CaseFilters, list_cases, sync_cases
from bastidor.console.data.flow_versions import FlowVersions
from bastidor.console.data.items import ItemFilters, list_items
from bastidor.console.data.kpis import Period, daily_trend, flow_kpis
from bastidor.console.users import UserError, UserStore
from console_items_support import add_item, add_run, day
from console_support import make_console


@pytest.fixture(params=["sqlite-files", "postgresql"])
def console(request, tmp_path, monkeypatch):
    """A console on a home folder: its SQLite files, or (with the database setting) a fresh PostgreSQL
    database whose sessions run in a time zone 14 hours ahead of UTC."""
    if request.param == "postgresql":
        monkeypatch.setenv("BASTIDOR_DATABASE_URL", request.getfixturevalue("pg_url"))
        monkeypatch.setenv("PGTZ", "Pacific/Kiritimati")
    made = make_console(tmp_path)
    yield made
    made.close()


def test_kpis_count_an_item_on_its_utc_day_whatever_the_database_time_zone(console):
    store = console.context.store
    add_run(store, "r-1", "Orders", day(2026, 11, 1, hour=8))
    add_item(store, "r-1", "late", day(2026, 11, 1, hour=20))  # already 2 November at UTC+14
    add_item(store, "r-1", "early", day(2026, 11, 2, hour=1), status="failed", exception="business", reason="no")
    period = Period(date(2026, 11, 1), date(2026, 11, 2))
    [kpis] = flow_kpis(store, period)
    assert (kpis.items, kpis.succeeded, kpis.active_days, kpis.p95_handling_ms) == (2, 1, 2, 2000.0)
    trend = daily_trend(store, "Orders", period)
    assert [(d.day, d.items, d.succeeded) for d in trend] == [(date(2026, 11, 1), 1, 1), (date(2026, 11, 2), 1, 0)]


def test_two_consoles_syncing_exceptions_at_once_open_each_case_once(console):
    store, db = console.context.store, console.context.db
    add_run(store, "r-1", "Orders", day(2026, 11, 1))
    for n in range(20):
        add_item(store, "r-1", f"o-{n}", day(2026, 11, 1), status="failed", exception="business", reason="stock")
    threads = [threading.Thread(target=sync_cases, args=(store, db)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    page = list_cases(store, db, CaseFilters(state="all"), page_size=100)
    assert page.total == 20 and sorted(case.item_ref for case in page.rows) == sorted(f"o-{n}" for n in range(20))


def test_item_filter_text_takes_wildcards_literally_and_ignores_case_on_every_backend(console):
    store = console.context.store
    add_run(store, "r-1", "Orders", day(2026, 11, 1))
    for ref in ("A_1", "AB1", "A%2", "a_1"):
        add_item(store, "r-1", ref, day(2026, 11, 1))
    assert sorted(row.item_ref for row in list_items(store, ItemFilters(reference="A_")).rows) == ["A_1", "a_1"]
    assert [row.item_ref for row in list_items(store, ItemFilters(reference="%")).rows] == ["A%2"]


def test_flow_versions_are_recorded_and_read_back_in_order(console, tmp_path):
    versions = FlowVersions(console.context.db)
    flow = tmp_path / "orders.yaml"
    for text in ("name: Orders\nsteps: []\n", "name: Orders\nversion: 2\nsteps: []\n"):
        flow.write_text(text, encoding="utf-8")
        versions.observe("orders.yaml", flow)
    history = versions.history("orders.yaml")
    assert [(version.number, "version: 2" in version.source) for version in history] == [(1, False), (2, True)]
    assert history[0].first_seen_at.tzinfo is not None


def test_two_admins_removed_at_once_on_two_consoles_never_leave_the_console_without_an_admin(console):
    users, survivor = console.context.users, None
    for round_number in range(5):
        names = [f"admin{round_number}a", f"admin{round_number}b"]
        for name in names:
            users.add(name, "admin", "a-long-password")
        if survivor is not None:
            users.remove(survivor)  # the round starts with exactly these two admins
        race_to_remove(console, names)
        admins = [user.name for user in users.list() if user.role == "admin"]
        assert len(admins) == 1, f"round {round_number}: {admins}"
        survivor = admins[0]


def race_to_remove(console, names: list[str]) -> None:
    """Remove each of `names` at the same moment, each through a user store of its own (as two consoles do)."""
    start = threading.Barrier(len(names))

    def remove(name: str) -> None:
        store = UserStore(console.context.db, console.context.users.hasher)
        start.wait()
        try:
            store.remove(name)
        except UserError:
            pass  # the last admin: refused

    threads = [threading.Thread(target=remove, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
