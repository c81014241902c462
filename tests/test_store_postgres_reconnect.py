"""The run store rides out a lost PostgreSQL connection: writes wait for the database to come back, give
up after a bounded time with one line naming the database (never its password), and a write whose
COMMIT went unanswered is stored exactly once and reported done only when it was.

The store talks to PostgreSQL through `TcpProxy` (tests/tcp_proxy.py), a small TCP proxy on 127.0.0.1 that
the test cuts and restores (the real server is never restarted), and that can hang up on the next COMMIT
just before or just after the server got it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bastidor.store import ItemRecord, RunRecord, StepRecord, StoreError, open_run_store
from bastidor.store.reconnect import RETRY_ENV, ReconnectPolicy
from service_support import wait_until
from tcp_proxy import TcpProxy, proxy  # noqa: F401  (proxy: a fixture)

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 5, 1, 9, 0, 0, 654321, tzinfo=timezone.utc)
PATIENT = ReconnectPolicy(give_up_after_s=60, first_wait_s=0.05, max_wait_s=0.5)


@pytest.fixture
def store(proxy, pg_url):
    """A run store on the test's database, through the proxy."""
    with open_run_store(proxy.url_for(pg_url), reconnect=PATIENT) as opened:
        yield opened


@pytest.fixture
def direct(pg_url):
    """A run store on the same database without the proxy: what PostgreSQL really holds."""
    with open_run_store(pg_url) as opened:
        yield opened


def hang_up_on_next_commit(proxy: TcpProxy, delivered: bool) -> None:
    """The proxy hangs up on the next COMMIT: after the server answered it (`delivered`) or before it got it."""
    if delivered:
        proxy.lose_next_commit_reply()
    else:
        proxy.drop_next_commit()


def make_run(run_id: str = "r-1", **fields) -> RunRecord:
    return RunRecord(run_id=run_id, flow_name="orders", flow_path="flows/orders.yaml", flow_sha256="a" * 64,
                     started_at=T0, inputs={"file": "orders.xlsx"}, host="bot-b", pid=4242, **fields)


def test_writes_during_an_outage_wait_for_the_database_and_land_once_it_is_back(store, proxy, direct):
    store.create_run(make_run())
    proxy.cut()
    finished = threading.Event()

    def write() -> None:
        store.add_steps([StepRecord("r-1", 1, "steps[0]", "passed", item_ref="o-1", started_at=T0)])
        store.upsert_item(ItemRecord("r-1", "o-1", status="successful", started_at=T0, ended_at=T0))
        store.update_run("r-1", status="succeeded", ended_at=T0 + timedelta(minutes=1), items_total=1,
                         items_succeeded=1)
        finished.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert wait_until(lambda: proxy.turned_away >= 2, timeout=30), "the writer keeps trying to reconnect"
    assert not finished.is_set()
    proxy.restore()
    writer.join(timeout=60)
    assert finished.is_set()
    assert direct.get_run("r-1").status == "succeeded"
    assert [step.seq for step in direct.list_steps("r-1")] == [1]
    assert [(item.item_ref, item.status) for item in direct.list_items("r-1")] == [("o-1", "successful")]


def test_a_database_that_stays_away_fails_the_write_with_one_line_naming_it_without_the_password(proxy, pg_url):
    url = proxy.url_for(pg_url, password="s3cret-pw")
    with open_run_store(url, reconnect=ReconnectPolicy(give_up_after_s=1, first_wait_s=0.05)) as store:
        proxy.cut(refuse=True)
        with pytest.raises(StoreError) as raised:
            store.create_run(make_run())
    message = str(raised.value)
    assert "\n" not in message and "s3cret-pw" not in message
    assert f"postgres:***@127.0.0.1:{proxy.port}/" in message
    assert "Connection refused" in message and "retried for 1 s" in message and "PostgreSQL is running" in message


@pytest.mark.parametrize("delivered", [True, False], ids=["commit-reached-the-server", "commit-lost-on-the-way"])
def test_a_run_whose_commit_went_unanswered_is_created_exactly_once(store, proxy, direct, delivered):
    hang_up_on_next_commit(proxy, delivered)
    store.create_run(make_run())
    assert proxy.traps_sprung == 1
    assert [run.run_id for run in direct.list_runs()] == ["r-1"]
    assert direct.get_run("r-1") == make_run()


@pytest.mark.parametrize("delivered", [True, False], ids=["commit-reached-the-server", "commit-lost-on-the-way"])
def test_steps_whose_commit_went_unanswered_are_stored_exactly_once(store, proxy, direct, delivered):
    store.create_run(make_run())
    batch = [StepRecord("r-1", seq, f"steps[{seq}]", "passed", started_at=T0) for seq in (1, 2, 3)]
    hang_up_on_next_commit(proxy, delivered)
    store.add_steps(batch)
    assert proxy.traps_sprung == 1 and direct.list_steps("r-1") == batch


def test_item_and_run_ending_whose_commit_went_unanswered_are_stored_once(store, proxy, direct):
    store.create_run(make_run())
    proxy.lose_next_commit_reply()
    store.upsert_item(ItemRecord("r-1", "o-1", status="failed", reason="out of stock", exception="business",
                                 started_at=T0, ended_at=T0))
    proxy.lose_next_commit_reply()
    store.update_run("r-1", status="failed", ended_at=T0, items_total=1, items_failed=1)
    assert proxy.traps_sprung == 2
    assert [(item.item_ref, item.status) for item in direct.list_items("r-1")] == [("o-1", "failed")]
    assert (direct.get_run("r-1").status, direct.get_run("r-1").items_failed) == ("failed", 1)


def test_ending_an_orphaned_run_whose_commit_went_unanswered_reports_it_ended(store, proxy, direct):
    store.create_run(make_run())
    store.upsert_item(ItemRecord("r-1", "o-1", started_at=T0))
    proxy.lose_next_commit_reply()
    assert store.close_orphaned_run("r-1", "its bot was killed") and proxy.traps_sprung == 1
    assert (direct.get_run("r-1").status, direct.list_items("r-1")[0].status) == ("crashed", "failed")
    assert not store.close_orphaned_run("r-1", "a second reap changes nothing")


def test_a_retried_create_never_takes_another_run_with_the_same_id_for_its_own(store, proxy, direct):
    direct.create_run(make_run(user="someone-else"))
    proxy.cut()
    outcome: list[BaseException | None] = []

    def create() -> None:
        try:
            store.create_run(make_run(user="me"))
            outcome.append(None)
        except StoreError as error:
            outcome.append(error)

    creator = threading.Thread(target=create)
    creator.start()
    assert wait_until(lambda: proxy.turned_away >= 1, timeout=30), "the first try lost its connection"
    proxy.restore()
    creator.join(timeout=60)
    assert len(outcome) == 1 and "A run with id r-1 already exists" in str(outcome[0])
    assert direct.get_run("r-1").user == "someone-else"


@pytest.mark.parametrize("command", [["runs", "list"], ["users", "list"]])
def test_a_command_on_a_database_that_is_down_says_so_in_one_line(proxy, pg_url, tmp_path, command):
    url = proxy.url_for(pg_url, password="s3cret-pw")
    proxy.cut(refuse=True)
    done = subprocess.run([sys.executable, str(REPO / "runner.py"), *command, "--home", str(tmp_path),
                           "--database", url], capture_output=True, text=True, timeout=120,
                          env={**os.environ, RETRY_ENV: "1"})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert f"postgres:***@127.0.0.1:{proxy.port}/" in done.stderr and "s3cret-pw" not in done.stderr


def test_a_host_name_that_does_not_resolve_is_reported_at_once_not_waited_for():
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    from bastidor.database.connection_errors import connection_lost

    engine = create_engine("postgresql+psycopg://bastidor@no-such-host.invalid/bastidor")
    with pytest.raises(OperationalError) as refused:
        engine.connect()
    engine.dispose()
    assert not connection_lost(refused.value), "a mistyped host is not a connection that will come back"
